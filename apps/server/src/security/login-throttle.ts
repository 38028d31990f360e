import { DumontError } from "@dumont/core";

interface Window {
  count: number;
  resetAt: number;
}

export interface LoginThrottleOptions {
  /** Failed logins allowed per account per window. */
  maxFailuresPerAccount: number;
  /** Login and register attempts allowed per client IP per window. */
  maxAttemptsPerIp: number;
  windowMs: number;
  now: () => number;
}

/**
 * Slows password guessing: per account it counts failures (so a user's own typos do not lock a
 * shared office IP), per IP it counts every attempt. Kept in memory per process: a replica set
 * multiplies the allowance by its size, which still bounds guessing to a few per minute.
 */
export class LoginThrottle {
  private readonly accounts = new Map<string, Window>();
  private readonly ips = new Map<string, Window>();

  constructor(private readonly options: LoginThrottleOptions) {}

  /** Counts an attempt from this IP and refuses it when the IP or the account is over its limit. */
  admit(ip: string, account: string | undefined): void {
    const now = this.options.now();
    this.sweep(now);
    const ipWindow = this.bump(this.ips, ip, now);
    if (ipWindow.count > this.options.maxAttemptsPerIp) throw this.limited(ipWindow, now, "this address");
    if (account === undefined) return;
    const accountWindow = this.accounts.get(account);
    if (accountWindow && accountWindow.resetAt > now && accountWindow.count >= this.options.maxFailuresPerAccount) {
      throw this.limited(accountWindow, now, "this account");
    }
  }

  recordFailure(account: string): void {
    this.bump(this.accounts, account, this.options.now());
  }

  recordSuccess(account: string): void {
    this.accounts.delete(account);
  }

  private bump(map: Map<string, Window>, key: string, now: number): Window {
    let window = map.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + this.options.windowMs };
      map.set(key, window);
    }
    window.count += 1;
    return window;
  }

  private limited(window: Window, now: number, who: string): DumontError {
    const retryAfter = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
    return new DumontError({
      code: "RATE_LIMITED",
      message: `too many login attempts for ${who}`,
      details: { retry_after_seconds: retryAfter },
      hint: `Wait ${retryAfter} s and try again.`,
    });
  }

  private sweep(now: number): void {
    if (this.ips.size + this.accounts.size < 10_000) return;
    for (const map of [this.ips, this.accounts]) {
      for (const [key, window] of map) if (window.resetAt <= now) map.delete(key);
    }
  }
}

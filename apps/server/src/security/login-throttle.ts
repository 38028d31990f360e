import { DumontError } from "@dumont/core";

export interface LoginThrottleOptions {
  /** Wrong passwords for one account from one address before delays start. */
  maxFailuresPerAccount: number;
  /** Login and register attempts allowed per client IP per window, across all accounts. */
  maxAttemptsPerIp: number;
  /** The per-IP window, and how long a failure streak is remembered after its delay ends. */
  windowMs: number;
  /** The longest delay; delays double from 1 s after each further failure up to this. */
  maxDelayMs: number;
  now: () => number;
}

/** Failures of one account from one address, and until when the next attempt must wait. */
interface FailureStreak {
  failures: number;
  blockedUntil: number;
  forgetAt: number;
}

interface IpWindow {
  count: number;
  resetAt: number;
}

const FIRST_DELAY_MS = 1_000;
// Memory bound: expired entries are swept once there are this many; if a map is still over
// MAX_PER_MAP after that (a flood of addresses), its oldest entries go.
const SWEEP_AT = 10_000;
const MAX_PER_MAP = 50_000;

/**
 * Slows password guessing without handing an attacker a way to lock the owner out.
 *
 * Per (account, address): the first `maxFailuresPerAccount` wrong passwords cost nothing; each one
 * after that makes the next attempt from that address wait, 1 s, 2 s, 4 s … up to `maxDelayMs`.
 * The owner logging in from another address is not affected by a stranger's failures, and a
 * success from an address clears that address's streak.
 *
 * Per address: every login and register attempt counts, across accounts, so one address cannot
 * try a list of stolen credentials against many accounts (credential stuffing).
 *
 * Kept in memory per process: a replica set multiplies the allowance by its size, which still
 * bounds guessing to a few per minute per address.
 */
export class LoginThrottle {
  private readonly streaks = new Map<string, FailureStreak>();
  private readonly ips = new Map<string, IpWindow>();

  constructor(private readonly options: LoginThrottleOptions) {}

  /** Counts an attempt from this IP and refuses it when the IP is over its cap or the pair must wait. */
  admit(ip: string, account: string | undefined): void {
    const now = this.options.now();
    this.sweep(now);
    const ipWindow = this.bumpIp(ip, now);
    if (ipWindow.count > this.options.maxAttemptsPerIp) {
      throw limited(ipWindow.resetAt - now, "from this address");
    }
    if (account === undefined) return;
    const streak = this.streak(ip, account, now);
    if (streak && streak.blockedUntil > now)
      throw limited(streak.blockedUntil - now, "for this account from this address");
  }

  recordFailure(ip: string, account: string): void {
    const now = this.options.now();
    const key = pairKey(ip, account);
    const streak = this.streak(ip, account, now) ?? { failures: 0, blockedUntil: 0, forgetAt: 0 };
    streak.failures += 1;
    const over = streak.failures - this.options.maxFailuresPerAccount;
    if (over >= 0) {
      // 2^over overflows to Infinity long before it matters; min() caps it either way.
      const delay = Math.min(this.options.maxDelayMs, FIRST_DELAY_MS * 2 ** over);
      streak.blockedUntil = now + delay;
    }
    streak.forgetAt = Math.max(now, streak.blockedUntil) + this.options.windowMs;
    this.streaks.set(key, streak);
  }

  recordSuccess(ip: string, account: string): void {
    this.streaks.delete(pairKey(ip, account));
  }

  private streak(ip: string, account: string, now: number): FailureStreak | undefined {
    const key = pairKey(ip, account);
    const streak = this.streaks.get(key);
    if (streak && streak.forgetAt <= now) {
      this.streaks.delete(key);
      return undefined;
    }
    return streak;
  }

  private bumpIp(ip: string, now: number): IpWindow {
    let window = this.ips.get(ip);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + this.options.windowMs };
      this.ips.set(ip, window);
    }
    window.count += 1;
    return window;
  }

  private sweep(now: number): void {
    if (this.ips.size + this.streaks.size < SWEEP_AT) return;
    for (const [key, window] of this.ips) if (window.resetAt <= now) this.ips.delete(key);
    for (const [key, streak] of this.streaks) if (streak.forgetAt <= now) this.streaks.delete(key);
    // Maps iterate in insertion order, so what goes first is the oldest.
    for (const map of [this.ips, this.streaks] as Map<string, unknown>[]) {
      for (const key of map.keys()) {
        if (map.size <= MAX_PER_MAP) break;
        map.delete(key);
      }
    }
  }
}

function pairKey(ip: string, account: string): string {
  return `${account.toLowerCase()}\n${ip}`;
}

function limited(waitMs: number, who: string): DumontError {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return new DumontError({
    code: "RATE_LIMITED",
    message: `too many login attempts ${who}`,
    details: { retry_after_seconds: retryAfter },
    hint: `Wait ${retryAfter} s and try again.`,
  });
}

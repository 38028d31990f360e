import { BILLING_ENDED, DumontError, machinesCost } from "@dumont/core";
import type { BilledMachine, SpendingRepository, UserRow, UsersRepository } from "@dumont/db";
import type { MarketKind, MarketRegistry } from "../market/market-registry";

export interface SpendingView {
  spent_usd: number;
  cap_usd: number | null;
  remaining_usd: number | null;
}

/**
 * Spending caps on the server's marketplace account (VAST_API_KEY, or the embedded simulator):
 * every account but the user's own Vast.ai key. Spend is every second of every machine the user
 * rented there, from the marketplace create call to its end (paused time included: the machine
 * and its disk are still held) × its price per hour. The cap is hard for new rentals only: a
 * rental is refused when spend, plus one hour of each of the user's live machines there, plus one
 * hour of the new one, would pass the cap (so a burst of rentals cannot outrun spend, which only
 * grows once machines run); machines already running are left alone.
 */
export class SpendingService {
  // Check and rental run under one lock per user, so parallel requests from one user on this
  // process cannot all pass the same check. (Replicas each hold their own: at most one extra
  // machine per replica can slip through at once.)
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      spending: SpendingRepository;
      users: UsersRepository;
      markets: MarketRegistry;
      defaultCapUsd: number;
      now: () => number;
    },
  ) {}

  /** The cap in force: the operator's override, else the default for users; operators have none. */
  capOf(user: UserRow): number | null {
    if (user.spend_cap_usd !== null) return user.spend_cap_usd;
    return user.role === "operator" ? null : this.deps.defaultCapUsd;
  }

  async viewOf(user: UserRow): Promise<SpendingView> {
    return this.view(user, spentOn(await this.deps.spending.billedMachines(user.id), this.deps.now()));
  }

  /** Everyone's spend at once (the operator's user list). */
  async spentByUser(): Promise<Map<string, number>> {
    const now = this.deps.now();
    const byOwner = new Map<string, BilledMachine[]>();
    for (const machine of await this.deps.spending.billedMachines()) {
      byOwner.set(machine.owner_id, [...(byOwner.get(machine.owner_id) ?? []), machine]);
    }
    return new Map([...byOwner].map(([owner, machines]) => [owner, spentOn(machines, now)]));
  }

  view(user: UserRow, spent: number): SpendingView {
    const cap = this.capOf(user);
    return {
      spent_usd: roundUsd(spent),
      cap_usd: cap,
      remaining_usd: cap === null ? null : roundUsd(Math.max(0, cap - spent)),
    };
  }

  /** Refuses to start new work (a deploy, a job) once spend and live machines reach the cap. */
  async assertMayStart(userId: string): Promise<void> {
    await this.check(userId, await this.deps.markets.kindFor(userId), 0);
  }

  /**
   * Runs `rent` (the write that starts a rental) only if the cap allows one more hour of a
   * machine at `pricePerHour` on `market`; otherwise throws SPENDING_CAP_REACHED and rents nothing.
   */
  async admit<T>(userId: string, market: MarketKind, pricePerHour: number, rent: () => Promise<T>): Promise<T> {
    if (market === "user") return rent();
    return this.withUserLock(userId, async () => {
      await this.check(userId, market, pricePerHour);
      return rent();
    });
  }

  private async withUserLock<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(userId) ?? Promise.resolve();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const mine = previous.then(() => gate);
    this.locks.set(userId, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(userId) === mine) this.locks.delete(userId);
    }
  }

  private async check(userId: string, market: MarketKind, pricePerHour: number): Promise<void> {
    // A user's own Vast.ai key spends their own money: the server does not cap it.
    if (market === "user") return;
    const user = await this.deps.users.findById(userId);
    if (!user) throw new DumontError({ code: "UNAUTHENTICATED", message: "the account no longer exists" });
    const cap = this.capOf(user);
    if (cap === null) return;
    const machines = await this.deps.spending.billedMachines(userId);
    const spent = spentOn(machines, this.deps.now());
    const live = machines.filter((m) => !BILLING_ENDED.includes(m.status));
    const liveHour = live.reduce((sum, m) => sum + m.price_per_hour, 0);
    const nextHour = Math.max(0, pricePerHour);
    if (spent < cap && spent + liveHour + nextHour <= cap) return;
    const projected =
      spent < cap
        ? ` (one more hour of your ${live.length} live machine(s) and of a $${nextHour.toFixed(4)}/h one would pass it)`
        : "";
    throw new DumontError({
      code: "SPENDING_CAP_REACHED",
      message:
        cap === 0
          ? "renting on the server's marketplace account is not allowed for your account (spending cap $0)"
          : `spending cap reached: you have spent $${usd(spent)} of your $${usd(cap)} cap on the server's marketplace account${projected}`,
      details: {
        spent_usd: roundUsd(spent),
        cap_usd: cap,
        live_machines_hour_usd: roundUsd(liveHour),
        next_hour_usd: roundUsd(nextHour),
      },
      hint: "Ask the operator to raise your cap (`dumont admin user set-cap`), or store your own Vast.ai key with `dumont settings set-vast-key`. Machines already running keep running.",
    });
  }
}

/** Every second from the create call to the end (or now) × the price per hour (`machineCost`, shared with instance and job views). */
export function spentOn(machines: readonly BilledMachine[], now: number): number {
  return machinesCost(machines, now);
}

function roundUsd(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function usd(value: number): string {
  return value >= 1 ? value.toFixed(2) : value.toFixed(4);
}

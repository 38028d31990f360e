import type { Account } from "../accounts";
import type { SimClock } from "../clock";
import { billsCompute, type Instance } from "./instance";

const MS_PER_HOUR = 3_600_000;

/** $/h an instance costs in its current phase: compute while the container runs, disk always. */
export function hourlyCost(instance: Instance): number {
  const disk = (instance.diskGb * instance.storageCostPerGbMonth) / 720;
  const compute = billsCompute(instance.phase) ? (instance.bid ?? instance.dphBase) : 0;
  return compute + disk;
}

/**
 * Books charges per simulated second (vast-api.md §3.5 "Billing per state"). Rates change only at
 * phase changes, and every phase change books the time before it first, so each stretch is
 * charged at the rate that applied. At credit ≤ 0 the account's instances are stopped, once.
 */
export class Billing {
  constructor(
    private readonly clock: SimClock,
    private readonly instancesOf: (account: Account) => readonly Instance[],
    private readonly onExhausted: (account: Account) => void,
  ) {}

  accrue(account: Account): void {
    const now = this.clock.now();
    const elapsedMs = now - account.billedUntilMs;
    account.billedUntilMs = now;
    if (elapsedMs <= 0) return;
    let perHour = 0;
    for (const instance of this.instancesOf(account)) perHour += hourlyCost(instance);
    account.credit -= (perHour * elapsedMs) / MS_PER_HOUR;
    if (account.credit <= 0 && !account.exhausted) {
      account.exhausted = true;
      // Not inside the phase change that called us: the stop is its own set of transitions.
      setImmediate(() => this.onExhausted(account));
    }
  }

  /** Sets the credit (the /sim control API); positive credit lifts the exhaustion. */
  setCredit(account: Account, credit: number): void {
    this.accrue(account);
    account.credit = credit;
    account.exhausted = credit <= 0;
    if (account.exhausted) setImmediate(() => this.onExhausted(account));
  }
}

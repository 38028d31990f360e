import { computePerHour, diskPerHour } from "../account-ledger";
import type { Account } from "../accounts";
import type { SimClock } from "../clock";
import type { Instance } from "./instance";

/** $/h an instance costs in its current phase: compute while the container runs, disk always. */
export function hourlyCost(instance: Instance): number {
  return computePerHour(instance) + diskPerHour(instance);
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
    const from = account.billedUntilMs;
    account.billedUntilMs = now;
    if (now <= from) return;
    // Each instance's stretch goes into the ledger (what /charges/ and invoices list); the credit
    // spent is exactly what was booked.
    let charged = 0;
    for (const instance of this.instancesOf(account)) charged += account.ledger.book(instance, from, now);
    account.credit -= charged;
    if (account.credit <= 0 && !account.exhausted) {
      account.exhausted = true;
      // Not inside the phase change that called us: the stop is its own set of transitions.
      setImmediate(() => this.onExhausted(account));
    }
  }

  /** Sets the credit (the /sim control API); positive credit lifts the exhaustion. */
  setCredit(account: Account, credit: number): void {
    this.accrue(account);
    account.ledger.addCredit(this.clock.nowSeconds(), credit - account.credit, "Simulated credit change (/sim/credit)");
    account.credit = credit;
    account.exhausted = credit <= 0;
    if (account.exhausted) setImmediate(() => this.onExhausted(account));
  }
}

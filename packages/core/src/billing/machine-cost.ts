/**
 * What one rented machine has cost: the one formula behind spending caps, an instance's "cost so
 * far" and a job's bill, so they cannot disagree.
 *
 * A machine bills from the marketplace create call (`create_attempted_at`: from then on the
 * market may be charging) until its row ends (`destroyed` only after the market confirmed the
 * machine gone, or `failed`; the end is that last transition, `updated_at`), at its price per
 * hour. The price is the market's `dph_total` for the machine's own disk: compute plus storage.
 * Paused time counts at the same price (the machine and its disk are still held), so for a
 * paused machine this is an upper bound of what the market charges.
 */
export interface BilledSpan {
  status: string;
  price_per_hour: number;
  /** When the create call was made; null = not yet, nothing billed. */
  create_attempted_at: number | null;
  /** For an ended machine, when it ended (its last transition). */
  updated_at: number;
}

/** Statuses after which a machine no longer bills. */
export const BILLING_ENDED: readonly string[] = ["destroyed", "failed"];

/** Seconds the machine has been billed for at `now`; null before its create call. */
export function billedSeconds(machine: BilledSpan, now: number): number | null {
  if (machine.create_attempted_at === null) return null;
  const end = BILLING_ENDED.includes(machine.status) ? machine.updated_at : now;
  return Math.max(0, end - machine.create_attempted_at) / 1000;
}

/** US dollars the machine has cost at `now` (0 before its create call). */
export function machineCost(machine: BilledSpan, now: number): number {
  const seconds = billedSeconds(machine, now) ?? 0;
  return (seconds / 3600) * Math.max(0, machine.price_per_hour);
}

/** Several machines' cost at one instant. */
export function machinesCost(machines: readonly BilledSpan[], now: number): number {
  return machines.reduce((total, machine) => total + machineCost(machine, now), 0);
}

/** Dollars as the API shows them: six decimals (cheap simulated machines cost fractions of a cent). */
export function roundCostUsd(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}

import { billsCompute, type Instance } from "./instances/instance";

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** $/h of compute in the instance's current phase: the on-demand price or the bid, while the container runs. */
export function computePerHour(instance: Instance): number {
  return billsCompute(instance.phase) ? (instance.bid ?? instance.dphBase) : 0;
}

/** $/h of disk, from create to destroy: GB × $/GB-month ÷ 720 (vast-api.md §2.3). */
export function diskPerHour(instance: Instance): number {
  return (instance.diskGb * instance.storageCostPerGbMonth) / 720;
}

/** One instance's charges on one (UTC, simulated) day: what `GET /charges/` lists. */
export interface DayCharge {
  instanceId: number;
  label: string | null;
  dayStartS: number;
  /** First and last simulated second booked on that day. */
  firstS: number;
  lastS: number;
  gpuHours: number;
  gpuAmount: number;
  diskGb: number;
  storageCostPerGbMonth: number;
  diskHours: number;
  diskAmount: number;
}

/** Credit put on the account (its starting credit, `/sim/credit` top-ups and cuts). */
export interface CreditEntry {
  id: number;
  atS: number;
  amount: number;
  description: string;
}

let nextCreditId = 900_001;

/**
 * An account's money history: every charge booked per instance and day, split into compute (gpu)
 * and disk as Vast's charges API splits it, and every credit added. Billing books here, and the
 * credit spent is the sum of what was booked, so the invoices and charges endpoints add up to the
 * credit `users/current` shows.
 */
export class AccountLedger {
  private readonly byInstanceDay = new Map<string, DayCharge>();
  readonly credits: CreditEntry[] = [];

  charges(): DayCharge[] {
    return [...this.byInstanceDay.values()];
  }

  addCredit(atS: number, amount: number, description: string): void {
    if (amount !== 0) this.credits.push({ id: nextCreditId++, atS, amount, description });
  }

  /** Books [fromMs, toMs) of the instance at its current rates, split at day boundaries; returns the dollars. */
  book(instance: Instance, fromMs: number, toMs: number): number {
    const compute = computePerHour(instance);
    const disk = diskPerHour(instance);
    let total = 0;
    for (let start = fromMs; start < toMs;) {
      const dayStartMs = Math.floor(start / MS_PER_DAY) * MS_PER_DAY;
      const end = Math.min(toMs, dayStartMs + MS_PER_DAY);
      const hours = (end - start) / MS_PER_HOUR;
      const day = this.day(instance, dayStartMs / 1000, start / 1000);
      day.label = instance.label;
      day.lastS = end / 1000;
      if (compute > 0) {
        day.gpuHours += hours;
        day.gpuAmount += compute * hours;
      }
      day.diskHours += hours;
      day.diskAmount += disk * hours;
      total += (compute + disk) * hours;
      start = end;
    }
    return total;
  }

  private day(instance: Instance, dayStartS: number, firstS: number): DayCharge {
    const key = `${instance.id}:${dayStartS}`;
    let day = this.byInstanceDay.get(key);
    if (!day) {
      day = {
        instanceId: instance.id,
        label: instance.label,
        dayStartS,
        firstS,
        lastS: firstS,
        gpuHours: 0,
        gpuAmount: 0,
        diskGb: instance.diskGb,
        storageCostPerGbMonth: instance.storageCostPerGbMonth,
        diskHours: 0,
        diskAmount: 0,
      };
      this.byInstanceDay.set(key, day);
    }
    return day;
  }
}

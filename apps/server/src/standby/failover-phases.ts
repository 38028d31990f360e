import type { StandbyFailoverRow } from "@dumont/db";

/**
 * A failover's measured phases, in milliseconds, in the order they happen:
 * detect (first failed check → decision), final_sync (planned only), switch (decision → the CPU
 * answers SSH as the active machine), provision (a new GPU raced, or the old one resumed),
 * restore, verify, switch_back. Marks (`at_*`) are the clock times phases started at; they are
 * stored with the phases so a restarted control plane measures from the same moment, and are
 * never shown.
 */
export type FailoverPhases = Record<string, number>;

const MARK = "at_";

export function readPhases(row: Pick<StandbyFailoverRow, "phases">): FailoverPhases {
  const parsed: unknown = JSON.parse(row.phases);
  const phases: FailoverPhases = {};
  if (parsed && typeof parsed === "object") {
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === "number" && Number.isFinite(value)) phases[key] = value;
    }
  }
  return phases;
}

/** The phases a person sees: durations only, marks left out. */
export function shownPhases(phases: FailoverPhases): FailoverPhases {
  return Object.fromEntries(Object.entries(phases).filter(([key]) => !key.startsWith(MARK)));
}

export function mark(name: string): string {
  return `${MARK}${name}`;
}

/** Sum of the durations recorded (the failover's measured total so far). */
export function totalOf(phases: FailoverPhases): number {
  return Object.values(shownPhases(phases)).reduce((sum, ms) => sum + ms, 0);
}

/** How trustworthy a host has been for us, from its recorded attempts (seed-system §3.7). */
export type ReliabilityStatus = "unknown" | "excellent" | "good" | "fair" | "poor";

export function reliabilityStatus(attempts: number, successRate: number): ReliabilityStatus {
  if (attempts < 3) return "unknown";
  if (successRate >= 0.9) return "excellent";
  if (successRate >= 0.7) return "good";
  if (successRate >= 0.5) return "fair";
  return "poor";
}

/**
 * What became of one rented machine's first boot. `abandoned`: destroyed before it was ready
 * through no fault of the host (a race loser, a delete while booting); it counts as rented, never
 * in a success or failure rate.
 */
export const ATTEMPT_OUTCOMES = ["success", "failure", "abandoned"] as const;
export type AttemptOutcomeName = (typeof ATTEMPT_OUTCOMES)[number];

/** Successes over decided attempts (abandoned ones left out); 0 when none was decided. */
export function decidedSuccessRate(counts: { successes: number; failures: number }): number {
  const decided = counts.successes + counts.failures;
  return decided === 0 ? 0 : counts.successes / decided;
}

/** Where a failed attempt stopped: renting, booting the image, reaching SSH, or our own checks. */
export const FAILURE_STAGES = ["creating", "loading", "connecting", "verifying"] as const;
export type FailureStage = (typeof FAILURE_STAGES)[number];

/** Stages whose failures mean the host itself is bad (not just slow): they lengthen an auto-blacklist. */
export const SEVERE_STAGES: readonly FailureStage[] = ["creating", "loading"];

export const AUTO_BLACKLIST = {
  windowHours: 72,
  minAttempts: 3,
  consecutiveFailures: 3,
  failureRate: 0.7,
  hours: 24,
  severeHours: 48,
} as const;

export interface AttemptOutcome {
  success: boolean;
  stage: FailureStage | null;
  at: number;
}

/**
 * Whether recent attempts on a host call for an automatic blacklist, and for how long.
 * `attempts` are the host's decided attempts in the window (abandoned ones left out), newest first.
 */
export function autoBlacklistDecision(
  attempts: readonly AttemptOutcome[],
): { hours: number; reason: string } | undefined {
  if (attempts.length < AUTO_BLACKLIST.minAttempts) return undefined;
  const failures = attempts.filter((a) => !a.success);
  const severe = failures.some((a) => a.stage !== null && SEVERE_STAGES.includes(a.stage));
  const streak = attempts.findIndex((a) => a.success);
  const consecutive = streak === -1 ? attempts.length : streak;
  if (consecutive >= AUTO_BLACKLIST.consecutiveFailures) {
    return { hours: AUTO_BLACKLIST.hours, reason: `${consecutive} consecutive failed attempts` };
  }
  const rate = failures.length / attempts.length;
  if (rate >= AUTO_BLACKLIST.failureRate) {
    return {
      hours: severe ? AUTO_BLACKLIST.severeHours : AUTO_BLACKLIST.hours,
      reason: `${Math.round(rate * 100)}% of ${attempts.length} attempts failed in ${AUTO_BLACKLIST.windowHours} h${severe ? " (severe failures)" : ""}`,
    };
  }
  return undefined;
}

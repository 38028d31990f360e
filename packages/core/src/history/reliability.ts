/** How trustworthy a host has been for us, from its recorded attempts (seed-system §3.7). */
export type ReliabilityStatus = "unknown" | "excellent" | "good" | "fair" | "poor";

export function reliabilityStatus(attempts: number, successRate: number): ReliabilityStatus {
  if (attempts < 3) return "unknown";
  if (successRate >= 0.9) return "excellent";
  if (successRate >= 0.7) return "good";
  if (successRate >= 0.5) return "fair";
  return "poor";
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
 * `attempts` are the host's attempts in the window, newest first.
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

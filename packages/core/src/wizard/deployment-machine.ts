import { defineStateMachine } from "../state-machine";

/**
 * The deploy wizard's race. `searching` ranks offers; `creating` rents the next batch (each
 * candidate is an instance, so it inherits instances' leak protection); `waiting` watches for the
 * first candidate that is really ready (running, SSH, GPUs visible, disk) and opens new batches
 * on a timer; `ready` has a verified winner (clients may use it from here) and destroys every
 * other candidate, ending `completed` once the marketplace confirms they are gone; `cleanup` does
 * the same for a race that failed or was cancelled (the winner too), then ends failed or cancelled.
 */
export const DEPLOYMENT_MACHINE = defineStateMachine({
  name: "deployment",
  statuses: ["searching", "creating", "waiting", "ready", "cleanup", "completed", "failed", "cancelled"],
  initial: "searching",
  terminal: ["completed", "failed", "cancelled"],
  transitions: {
    searching: ["creating", "cleanup"],
    creating: ["waiting", "searching", "cleanup"],
    waiting: ["creating", "ready", "cleanup"],
    ready: ["completed", "cleanup"],
    cleanup: ["completed", "failed", "cancelled"],
    completed: [],
    failed: [],
    cancelled: [],
  },
});

export type DeploymentStatus = (typeof DEPLOYMENT_MACHINE.statuses)[number];

export const DEPLOY_STRATEGIES = ["race", "sequential"] as const;
export type DeployStrategy = (typeof DEPLOY_STRATEGIES)[number];

/** Defaults of the race (seed-system §3.3), overridable per deployment. */
export const WIZARD_DEFAULTS = {
  batchSize: 5,
  maxBatches: 3,
  batchTimeoutSeconds: 90,
  speed: "fast",
  maxPrice: 2.0,
  region: "global",
  diskGb: 50,
} as const;

/**
 * How candidates are ranked (higher first): cheap, reliable, and hosts that worked for us before.
 * price: 1 at $0/h falling to 0 at the price cap; reliability: the marketplace's 0–1 figure;
 * history: our success rate with the host (0.5 when unknown, so new hosts are not shut out).
 */
export function candidateScore(input: {
  pricePerHour: number;
  maxPrice: number;
  reliability: number;
  successRate: number | null;
}): number {
  const price = input.maxPrice > 0 ? Math.max(0, 1 - input.pricePerHour / input.maxPrice) : 0;
  const history = input.successRate ?? 0.5;
  return Math.round((0.4 * price + 0.3 * input.reliability + 0.3 * history) * 1000) / 1000;
}

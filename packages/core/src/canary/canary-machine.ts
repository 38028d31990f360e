import { defineStateMachine } from "../state-machine";

/**
 * A canary is a synthetic multi-step resource: it walks through N external side effects, one per
 * reconcile, exactly like a deployment or a job does with real machines, but without renting
 * anything. Operators create one to check that controllers are alive and resume after a crash;
 * the crash-and-resume and two-replica tests drive it.
 */
export const CANARY_MACHINE = defineStateMachine({
  name: "canary",
  statuses: ["pending", "running", "verifying", "completed", "failed", "cancelled"],
  initial: "pending",
  terminal: ["completed", "failed", "cancelled"],
  transitions: {
    pending: ["running", "cancelled"],
    running: ["verifying", "failed", "cancelled"],
    verifying: ["completed", "failed"],
    completed: [],
    failed: [],
    cancelled: [],
  },
});

export type CanaryStatus = (typeof CANARY_MACHINE.statuses)[number];

import { defineStateMachine } from "../state-machine";

/**
 * A rented machine as Dumont sees it. `creating` calls the marketplace; `booting` waits until the
 * machine runs and answers SSH; pause and resume map to the marketplace's stop and start; every
 * ending goes through `destroying`, which only finishes once the marketplace confirms the
 * machine is gone.
 */
export const INSTANCE_MACHINE = defineStateMachine({
  name: "instance",
  statuses: ["creating", "booting", "running", "pausing", "paused", "resuming", "destroying", "destroyed", "failed"],
  initial: "creating",
  terminal: ["destroyed", "failed"],
  transitions: {
    creating: ["booting", "destroying", "failed"],
    booting: ["running", "destroying"],
    running: ["pausing", "paused", "destroying"],
    pausing: ["paused", "destroying"],
    paused: ["resuming", "destroying"],
    resuming: ["booting", "running", "destroying"],
    destroying: ["destroyed", "failed"],
    destroyed: [],
    failed: [],
  },
});

export type InstanceStatus = (typeof INSTANCE_MACHINE.statuses)[number];

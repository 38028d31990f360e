import { defineStateMachine } from "../state-machine";

/**
 * A job rents a machine (through the wizard race), fetches its source, runs one command under a
 * supervisor on the machine, collects outputs, and destroys the machine. Every ending passes
 * through `stopping`, which finishes only once the machine is confirmed gone; `provisioning` is
 * entered again when a spot machine is lost mid-run or before setup (a new attempt, checkpoint
 * restored).
 */
export const JOB_MACHINE = defineStateMachine({
  name: "job",
  statuses: [
    "pending",
    "provisioning",
    "setting_up",
    "running",
    "collecting",
    "stopping",
    "completed",
    "failed",
    "cancelled",
    "timed_out",
  ],
  initial: "pending",
  terminal: ["completed", "failed", "cancelled", "timed_out"],
  transitions: {
    pending: ["provisioning", "stopping"],
    // provisioning → provisioning: the race's winner was lost before setup; a new attempt starts.
    provisioning: ["setting_up", "provisioning", "stopping"],
    setting_up: ["running", "collecting", "provisioning", "stopping"],
    running: ["collecting", "provisioning", "stopping"],
    collecting: ["stopping"],
    stopping: ["completed", "failed", "cancelled", "timed_out"],
    completed: [],
    failed: [],
    cancelled: [],
    timed_out: [],
  },
});

export type JobStatus = (typeof JOB_MACHINE.statuses)[number];
export type JobOutcome = "completed" | "failed" | "cancelled" | "timed_out";

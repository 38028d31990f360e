import { defineStateMachine } from "../state-machine";

/**
 * A CPU standby kept beside one GPU instance (an "association").
 *
 * - `provisioning` rents the CPU machine (labelled, like GPUs) and waits for it to answer SSH and
 *   for the GPU to be running; it installs the association's sync key on both.
 * - `syncing` pushes the GPU's /workspace to the standby every `sync_interval_s` (rsync runs on
 *   the GPU machine, straight to the standby) and checks the GPU's health every 10 s.
 * - `failover_active`: the GPU was lost (3 failed checks in a row, or the marketplace says
 *   outbid/offline/gone) or the user asked for a planned failover; the standby is the active
 *   machine and the workspace lives there.
 * - `recovering` races a new GPU (or resumes the paused one), restores the standby's workspace
 *   onto it, verifies, switches the active machine back, then returns to `syncing`. A failed
 *   attempt goes back to `failover_active` (the standby stays active) and is retried later.
 * - `disabled`: sync stopped by the user; the standby machine is kept.
 * - every ending goes through `destroying`, which ends only once the provider confirms the CPU
 *   machine is gone.
 */
export const STANDBY_MACHINE = defineStateMachine({
  name: "standby",
  statuses: [
    "provisioning",
    "syncing",
    "failover_active",
    "recovering",
    "disabled",
    "destroying",
    "destroyed",
    "failed",
  ],
  initial: "provisioning",
  terminal: ["destroyed", "failed"],
  transitions: {
    provisioning: ["syncing", "destroying", "failed"],
    syncing: ["failover_active", "disabled", "destroying"],
    failover_active: ["recovering", "destroying"],
    recovering: ["syncing", "failover_active", "destroying"],
    disabled: ["syncing", "destroying"],
    destroying: ["destroyed", "failed"],
    destroyed: [],
    failed: [],
  },
});

export type StandbyStatus = (typeof STANDBY_MACHINE.statuses)[number];

/** Which machine serves the workspace now. */
export type ActiveRole = "gpu" | "cpu";

import { assertTransition, defineStateMachine } from "@dumont/core";
import type { Account } from "../accounts";
import type { SimTimer } from "../clock";
import type { Machine } from "../market/machine";
import type { OfferSlot } from "../market/market";
import type { BubblewrapSandbox } from "../sandbox/bubblewrap-sandbox";
import type { PortForwards } from "../sandbox/port-forwards";
import type { InstanceSshServer } from "../ssh/instance-ssh-server";

/**
 * The simulator's own lifecycle of an instance. Vast exposes it as four fields
 * (`cur_state / intended_status / actual_status` and `next_state`, vast-api.md §3.5); each phase
 * fixes them, see `vastStateOf`.
 */
export const instanceMachine = defineStateMachine({
  name: "market-instance",
  statuses: [
    "new",
    "scheduling",
    "loading",
    "running",
    "rebooting",
    "failed",
    "offline",
    "stopped",
    "queued",
    "destroyed",
  ],
  initial: "new",
  terminal: ["destroyed"],
  transitions: {
    // A record being created: it leaves "new" before the create call returns.
    new: ["scheduling", "stopped", "queued"],
    scheduling: ["loading", "failed", "offline", "stopped", "destroyed"],
    loading: ["running", "failed", "offline", "stopped", "destroyed"],
    running: ["rebooting", "failed", "offline", "stopped", "destroyed"],
    // loading: a recycle pulls the image afresh after the container is gone.
    rebooting: ["running", "loading", "failed", "offline", "stopped", "destroyed"],
    failed: ["loading", "offline", "stopped", "destroyed"],
    offline: ["loading", "stopped", "destroyed"],
    stopped: ["loading", "queued", "destroyed"],
    queued: ["loading", "stopped", "destroyed"],
    destroyed: [],
  },
});

export type Phase = (typeof instanceMachine.statuses)[number];

/** Phases in which the instance holds its GPUs (Vast's `cur_state` running). */
export function holdsGpus(phase: Phase): boolean {
  switch (phase) {
    case "scheduling":
    case "loading":
    case "running":
    case "rebooting":
    case "failed":
    case "offline":
      return true;
    case "new":
    case "stopped":
    case "queued":
    case "destroyed":
      return false;
  }
}

/** Phases billed for compute: Vast bills the GPU while the container runs, not while loading. */
export function billsCompute(phase: Phase): boolean {
  return phase === "running" || phase === "rebooting";
}

export function assertPhaseChange(from: Phase, to: Phase): void {
  assertTransition(instanceMachine, from, to);
}

export interface InstanceSshKey {
  id: number;
  publicKey: string;
}

/** What a create asks the instance to run: kept on the instance as Vast echoes it back. */
export interface LaunchSpec {
  image: string;
  diskGb: number;
  label: string | null;
  onstart: string | null;
  /** The create's `env` minus Docker flags ("-p 8000:8000", "-h"): exported in the sandbox. */
  env: Record<string, string>;
  /** The create's `env` as Vast echoes it: every pair, flags included. */
  extraEnv: [string, string][];
  /** Container ports from "-p N:N" flags. */
  exposedPorts: number[];
  runtype: string;
  args: string[] | null;
  /** Interruptible bid in $/h, null for on-demand. */
  bid: number | null;
}

/** A rented instance (vast-api.md §6.2) with the simulator's bookkeeping. */
export interface Instance extends LaunchSpec {
  id: number;
  account: Account;
  slot: OfferSlot;
  machine: Machine;
  numGpus: number;
  /** On-demand $/h locked at rent time. */
  dphBase: number;
  storageCostPerGbMonth: number;
  instanceApiKey: string;
  jupyterToken: string;
  /** OpenSSH-format ed25519 private host key; kept across stop/start. */
  hostKey: string;
  sshKeys: InstanceSshKey[];
  startDateMs: number;
  dir: string;

  phase: Phase;
  actualStatus: string | null;
  intendedStatus: "running" | "stopped";
  curState: "running" | "stopped" | "unloaded";
  nextState: "running" | "stopped" | "unloaded";
  statusMsg: string | null;
  /** Set when a higher bid took the GPUs; cleared by a winning bid. */
  outbid: boolean;
  /** Boots so far; seeds each boot's draws. */
  bootCount: number;
  /** The image was pulled on this machine already: the next loading is short. */
  imageCached: boolean;
  /** Simulated ms at which the container last became running (null when not running). */
  runningSinceMs: number | null;
  gpuUtil: number;
  gpuMemUsedMb: number | null;
  /** Bumped on every phase change: async boots and timers from an older phase give up. */
  generation: number;
  phaseTimers: SimTimer[];
  sandbox: BubblewrapSandbox | undefined;
  /** Host listeners for the `-p` ports while running (Vast's `ports` HostPorts). */
  forwards: PortForwards | undefined;
  ssh: InstanceSshServer | undefined;
  /** Boots and teardowns in flight (real work outside the simulated clock); /sim/state shows it. */
  pendingWork: number;
  /** The latest boot task (sandbox + SSH start), awaited before the disk is deleted. */
  bootTask: Promise<void> | undefined;
  /** Teardown in progress (handlers await it so "stopped" means the processes are gone). */
  teardown: Promise<void> | undefined;
  /** Another renter waits to grab this instance's GPUs when it releases them. */
  grabOnRelease: (() => void) | undefined;
}

/** Vast's four state fields for a phase. */
export function vastStateOf(phase: Phase): Pick<Instance, "curState" | "nextState" | "intendedStatus"> {
  switch (phase) {
    case "scheduling":
    case "loading":
    case "running":
    case "rebooting":
    case "failed":
    case "offline":
      return { curState: "running", nextState: "running", intendedStatus: "running" };
    case "new":
    case "stopped":
      return { curState: "stopped", nextState: "stopped", intendedStatus: "stopped" };
    case "queued":
      // The UI's "Scheduling": start requested, GPU not free; it starts when the GPU frees.
      return { curState: "stopped", nextState: "running", intendedStatus: "running" };
    case "destroyed":
      return { curState: "unloaded", nextState: "unloaded", intendedStatus: "stopped" };
  }
}

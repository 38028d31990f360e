/**
 * @module One emulated Compute Engine VM: its record and its lifecycle.
 */
import { assertTransition, defineStateMachine } from "@dumont/core";
import type { SimTimer } from "../clock";
import type { BubblewrapSandbox } from "../sandbox/bubblewrap-sandbox";
import type { InstanceSshServer } from "../ssh/instance-ssh-server";
import type { GcpMachineType, GcpZone } from "./gcp-catalog";

/**
 * The emulation's own phases: GCP's statuses, plus the two a deletion goes through (GCP shows a
 * VM being deleted as STOPPING, then it is gone). insert and start: PROVISIONING → STAGING →
 * RUNNING; stop: STOPPING → TERMINATED; a failed boot or a preemption: TERMINATED.
 */
export const gcpVmMachine = defineStateMachine({
  name: "gcp-vm",
  statuses: ["PROVISIONING", "STAGING", "RUNNING", "STOPPING", "TERMINATED", "DELETING", "DELETED"],
  initial: "PROVISIONING",
  terminal: ["DELETED"],
  transitions: {
    PROVISIONING: ["STAGING", "STOPPING", "TERMINATED", "DELETING"],
    STAGING: ["RUNNING", "STOPPING", "TERMINATED", "DELETING"],
    RUNNING: ["STOPPING", "TERMINATED", "DELETING"],
    STOPPING: ["TERMINATED", "DELETING"],
    TERMINATED: ["PROVISIONING", "DELETING"],
    DELETING: ["DELETED"],
    DELETED: [],
  },
});

export type GcpVmPhase = (typeof gcpVmMachine.statuses)[number];
/** What the API's `status` says. */
export type GcpVmStatus = Exclude<GcpVmPhase, "DELETING" | "DELETED">;

export function assertVmPhaseChange(from: GcpVmPhase, to: GcpVmPhase): void {
  assertTransition(gcpVmMachine, from, to);
}

export function statusOf(phase: GcpVmPhase): GcpVmStatus {
  return phase === "DELETING" || phase === "DELETED" ? "STOPPING" : phase;
}

export interface MetadataItem {
  key: string;
  value: string;
}

export interface GcpScheduling {
  provisioningModel: "STANDARD" | "SPOT";
  /** What a preemption does to a Spot VM (GCP's default is STOP). */
  instanceTerminationAction: "STOP" | "DELETE" | undefined;
}

export interface AccessConfig {
  type: string;
  name: string;
}

/** A VM as the emulation keeps it. Mutable: the lifecycle (gcp-compute.ts) drives it. */
export interface GcpVm {
  /** GCP's numeric id (a decimal string). */
  id: string;
  name: string;
  zone: GcpZone;
  machineType: GcpMachineType;
  phase: GcpVmPhase;
  statusMessage: string | undefined;
  createdAtMs: number;
  lastStartMs: number | undefined;
  lastStopMs: number | undefined;
  labels: Record<string, string>;
  metadataItems: MetadataItem[];
  scheduling: GcpScheduling;
  diskSizeGb: string;
  sourceImage: string;
  /** The external accesses asked for (usually one ONE_TO_ONE_NAT). */
  accessConfigs: AccessConfig[];
  /** Internal address on the zone's default subnet (stable for the VM's life, as on GCP). */
  networkIP: string;
  /** OpenSSH host key, kept across stop/start (it lives on the boot disk on a real VM). */
  hostKey: string;
  /** `<dataDir>/gcp/<zone>/<name>`: the boot disk (`workspace/`, `home/`) and the market's `sim/`. */
  dir: string;

  sandbox: BubblewrapSandbox | undefined;
  ssh: InstanceSshServer | undefined;
  /** The SSH port published while RUNNING; kept while `/sim` holds SSH down. */
  sshPort: number | undefined;
  /** `/sim/gcp/instances/{name}/ssh-down`: the SSH server is closed until set false (or a restart). */
  sshDown: boolean;
  /** A fault injected for this VM's insert (`/sim/gcp/next-insert-error`). */
  insertError: { code: string; message: string } | undefined;

  /** Bumped at every phase change: work started for an older generation gives up. */
  generation: number;
  timers: SimTimer[];
  /** The boot in flight (sandbox and SSH starting). */
  bootTask: Promise<void> | undefined;
  /** The sandbox and SSH server being taken down. */
  teardown: Promise<void> | undefined;
  /** STAGING lasted its minimum (simulated) time. */
  stagedLongEnough: boolean;
  /** The sandbox and SSH server of this boot are up. */
  bootReady: boolean;
  /** The disk directory is left over from an earlier VM of this name (or a dead market): wipe it first. */
  freshDisk: boolean;
}

/** The public keys allowed for root: the `ssh-keys` metadata lines `root:<key>` (other users ignored). */
export function rootSshKeys(items: readonly MetadataItem[]): string[] {
  const keys: string[] = [];
  for (const item of items) {
    if (item.key !== "ssh-keys" && item.key !== "sshKeys") continue;
    for (const line of item.value.split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0 || line.slice(0, colon).trim() !== "root") continue;
      const key = line.slice(colon + 1).trim();
      if (key) keys.push(key);
    }
  }
  return keys;
}

import type { SshEndpoint } from "../provider";

/**
 * The seam between Dumont and a provider of cheap CPU machines that stand by beside a GPU
 * (GCP Compute Engine first; the local marketplace emulates a GCP project, so the same class
 * drives both). Differences are capability flags, never provider names in callers.
 *
 * Machines are named by the caller (GCP names are the key of an instance within a zone), so a
 * create that crashed before it was recorded is found again by its name, and every machine
 * carries Dumont's labels from its first moment (the orphan collector lists by label).
 */
export interface StandbyCapabilities {
  /** The provider is the local emulation: no real money, and said so wherever a person sees it. */
  readonly simulated: boolean;
  /** Spot (preemptible) machines can be rented. */
  readonly supportsSpot: boolean;
  /** A machine can be stopped and started again with its disk. */
  readonly supportsStop: boolean;
}

export interface StandbyMachineRequest {
  /** Lowercase letters, digits and dashes, starting with a letter, at most 63 characters. */
  name: string;
  zone: string;
  /** e2-medium, e2-standard-2, … (see the price data file). */
  machineType: string;
  diskGb: number;
  spot: boolean;
  /** `dumont-installation` and `dumont-resource` at least; keys and values as GCP allows them. */
  labels: Readonly<Record<string, string>>;
  /** Public keys that may log in as root. */
  sshPublicKeys: readonly string[];
}

/** Our reading of a standby machine's state from the provider's status words. */
export type StandbyMachineState = "provisioning" | "running" | "stopping" | "stopped" | "repairing";

export interface StandbyMachine {
  name: string;
  zone: string;
  state: StandbyMachineState;
  /** Provider's own status word (RUNNING, TERMINATED, …), for display. */
  rawStatus: string;
  machineType: string;
  spot: boolean;
  labels: Readonly<Record<string, string>>;
  /**
   * Where it answers SSH as root: the control plane and the user's GPU machines both use this
   * address (GPU machines push the workspace to it directly). Null until it has an address.
   */
  ssh: SshEndpoint | null;
  createdAt: number | null;
}

export interface StandbyProvider {
  readonly name: string;
  readonly capabilities: StandbyCapabilities;
  /**
   * Creates the machine and waits for the provider's operation to finish. A machine of the same
   * name that already exists is not an error (a retried create after a crash): it resolves.
   */
  createMachine(request: StandbyMachineRequest): Promise<void>;
  /** Undefined once the machine no longer exists. */
  getMachine(zone: string, name: string): Promise<StandbyMachine | undefined>;
  /** Every machine of the project carrying `labels[key] === value`, in every zone. */
  listMachines(label: { key: string; value: string }): Promise<StandbyMachine[]>;
  /** Stops or starts (needs `supportsStop`); waits for the operation. */
  setRunning(zone: string, name: string, running: boolean): Promise<void>;
  /** Deletes and confirms the machine is gone; idempotent. */
  destroyMachine(zone: string, name: string): Promise<void>;
}

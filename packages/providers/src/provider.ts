/**
 * The seam between Dumont and a GPU marketplace. Vast.ai is the first implementation (and the
 * local marketplace speaks Vast's API, so the same class drives both). Differences between
 * marketplaces are capability flags, never `if (provider === "vast")` in callers.
 */

export interface ProviderCapabilities {
  /** Stop a machine keeping its disk, and start it again later. */
  readonly supportsPause: boolean;
  /** Rent interruptible (spot) capacity with a bid. */
  readonly supportsInterruptible: boolean;
  /** `nvidia-smi` over SSH reports real GPUs. */
  readonly supportsGpuMetrics: boolean;
  /** The market is the embedded simulator: no real money, no real GPUs. */
  readonly simulated: boolean;
  /**
   * Public keys can be added to (and removed from) a machine that already exists, so a key
   * registered after renting still opens it. Without it, keys count only at create.
   */
  readonly supportsSshKeyAttach: boolean;
}

export type MachineType = "on-demand" | "interruptible";

export interface OfferQuery {
  gpuName?: string | undefined;
  numGpus?: number | undefined;
  minGpuRamGb?: number | undefined;
  maxPricePerHour?: number | undefined;
  /** Two-letter country codes; empty or undefined = anywhere. */
  countries?: readonly string[] | undefined;
  minReliability?: number | undefined;
  verifiedOnly?: boolean | undefined;
  machineType: MachineType;
  minInetDownMbps?: number | undefined;
  maxInetDownMbps?: number | undefined;
  minDiskGb?: number | undefined;
  /** Only this offer (to learn its current price before renting it). */
  offerId?: string | undefined;
  /**
   * GB of disk the prices include (Vast's `allocated_storage`): the disk that will be rented, so
   * an offer's price is what the machine is billed at. Undefined = the market's default (Vast: 5–8 GB).
   */
  allocatedStorageGb?: number | undefined;
  limit: number;
  order: "price" | "score";
}

export interface Offer {
  id: string;
  provider: string;
  machineId: string;
  gpuName: string;
  numGpus: number;
  gpuRamGb: number;
  cpuCores: number | null;
  cpuRamGb: number | null;
  diskGb: number;
  inetDownMbps: number;
  inetUpMbps: number;
  /**
   * $/h the machine is billed at with `pricedDiskGb` of disk: compute (on-demand price, or the
   * minimum bid for interruptible offers) plus storage, like Vast's `dph_total`.
   */
  pricePerHour: number;
  /** The compute part of an interruptible rental: what a bid must at least offer ($/h, storage not included). */
  minBid: number | null;
  /** $ per GB per month of disk (Vast's `storage_cost`); null when the market does not say. */
  storageCostPerGbMonth: number | null;
  /** The disk (GB) that `pricePerHour` includes; null when the market does not say. */
  pricedDiskGb: number | null;
  geolocation: string;
  countryCode: string | null;
  reliability: number;
  verified: boolean;
  cudaVersion: string | null;
}

export interface CreateMachineRequest {
  offerId: string;
  image: string;
  diskGb: number;
  /** Our ownership tag (`dumont:<resource id>`), set at creation so no machine is ever anonymous. */
  label: string;
  env?: Record<string, string> | undefined;
  onstart?: string | undefined;
  /** A bid makes the machine interruptible. */
  bidPricePerHour?: number | undefined;
  /** Public keys that may log in as root (ours and the user's). */
  sshPublicKeys: readonly string[];
}

/** Our reading of a marketplace machine's state, from the provider's raw fields. */
export type MachineState =
  "provisioning" | "loading" | "running" | "stopped" | "queued" | "outbid" | "failed" | "offline" | "gone";

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
}

export interface Machine {
  id: string;
  label: string | null;
  state: MachineState;
  statusMessage: string | null;
  gpuName: string;
  numGpus: number;
  pricePerHour: number;
  interruptible: boolean;
  hostMachineId: string;
  geolocation: string | null;
  ssh: SshEndpoint | null;
  /** Provider's raw status words, for display and debugging. */
  raw: { actualStatus: string | null; intendedStatus: string | null; curState: string | null };
}

export interface AccountBalance {
  credit: number;
  balance: number;
  balanceThreshold: number;
  email: string | null;
}

export interface Provider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  searchOffers(query: OfferQuery): Promise<Offer[]>;
  /** Rents an offer; the machine carries `label` from its first moment. */
  createMachine(request: CreateMachineRequest): Promise<{ machineId: string }>;
  /** Undefined once the machine no longer exists. */
  getMachine(machineId: string): Promise<Machine | undefined>;
  /** Every machine of this account whose label starts with `labelPrefix`. */
  listMachines(labelPrefix: string): Promise<Machine[]>;
  /** Start or stop; `queued` when the marketplace accepted a start it cannot serve yet. */
  setRunning(machineId: string, running: boolean): Promise<{ queued: boolean }>;
  /** Destroys and confirms the machine is gone; idempotent. */
  destroyMachine(machineId: string): Promise<void>;
  /** Lets `publicKey` log in as root on an existing machine; idempotent (needs `supportsSshKeyAttach`). */
  attachSshKey(machineId: string, publicKey: string): Promise<void>;
  /** Stops `publicKey` logging in; false when it was not attached (needs `supportsSshKeyAttach`). */
  detachSshKey(machineId: string, publicKey: string): Promise<boolean>;
  balance(): Promise<AccountBalance>;
}

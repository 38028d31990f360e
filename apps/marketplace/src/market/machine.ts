import type { GpuModel } from "./gpu-catalog";
import type { Location } from "./geography";

/** Where and how fast one host boots containers (simulated seconds). */
export interface BootProfile {
  /** `actual_status` null ("scheduling") lasts uniformly between these. */
  schedulingMinS: number;
  schedulingMaxS: number;
  /** Median image pull + container start ("loading"); each boot draws around it. */
  loadingMedianS: number;
}

/**
 * A physical machine of the seeded market (vast-api.md §6.2). The static part is drawn once from
 * the seed; `usedGpus`, `phantomGpus`, `online` and `competingBidPerGpu` change as the simulation runs.
 */
export interface Machine {
  machineId: number;
  hostId: number;
  model: GpuModel;
  gpuCount: number;
  cpuName: string;
  cpuCores: number;
  cpuGhz: number;
  cpuRamMb: number;
  diskTotalGb: number;
  diskBwMbs: number;
  diskName: string;
  moboName: string;
  inetUpMbps: number;
  inetDownMbps: number;
  inetUpCostPerGb: number;
  inetDownCostPerGb: number;
  directPortStart: number;
  directPortEnd: number;
  staticIp: boolean;
  location: Location;
  verification: "verified" | "unverified" | "deverified";
  hostingType: number;
  reliability2: number;
  cudaMaxGood: number;
  driverVersion: string;
  pciGen: number;
  gpuLanes: number;
  pcieBwGbs: number;
  bwNvlinkGbs: number;
  /** $ per GB per month. */
  storageCostPerGbMonth: number;
  /** On-demand $/h per GPU. */
  dphBasePerGpu: number;
  /** Host's floor for interruptible bids, $/h per GPU. */
  minBidFloorPerGpu: number;
  listedAtS: number;
  endDateS: number;
  boot: BootProfile;

  /** GPUs held by instances of this market's accounts. */
  usedGpus: number;
  /** GPUs held by simulated other renters (the "GPU taken" fault). */
  phantomGpus: number;
  /** Highest competing interruptible bid per GPU ($/h), 0 when none: raises `min_bid`. */
  competingBidPerGpu: number;
  online: boolean;
}

/** GPUs nobody holds; an offline host has none. */
export function freeGpus(machine: Machine): number {
  return machine.online ? Math.max(0, machine.gpuCount - machine.usedGpus - machine.phantomGpus) : 0;
}

/** Minimum winning bid for `gpus` GPUs of the machine now. */
export function minBidFor(machine: Machine, gpus: number): number {
  const floor = machine.minBidFloorPerGpu * gpus;
  const competing = machine.competingBidPerGpu > 0 ? machine.competingBidPerGpu * gpus + 0.001 : 0;
  return Math.max(floor, competing);
}

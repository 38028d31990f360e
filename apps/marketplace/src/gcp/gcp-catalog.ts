/**
 * @module What the emulated project offers: its zones and the CPU machine types it rents.
 */

export interface GcpZone {
  name: string;
  region: string;
  /** The default network's subnet in the region (its first address is the gateway). */
  subnetPrefix: string;
}

/** The zones of gcp-wire.md, with the default VPC's real regional ranges. */
export const GCP_ZONES: readonly GcpZone[] = [
  { name: "us-central1-a", region: "us-central1", subnetPrefix: "10.128.0" },
  { name: "us-central1-b", region: "us-central1", subnetPrefix: "10.128.0" },
  { name: "us-east1-b", region: "us-east1", subnetPrefix: "10.142.0" },
  { name: "europe-west1-b", region: "europe-west1", subnetPrefix: "10.132.0" },
  { name: "europe-west4-a", region: "europe-west4", subnetPrefix: "10.164.0" },
  { name: "asia-east1-a", region: "asia-east1", subnetPrefix: "10.140.0" },
];

export function zoneNamed(name: string): GcpZone | undefined {
  return GCP_ZONES.find((z) => z.name === name);
}

export interface GcpMachineType {
  name: string;
  vcpus: number;
  memoryMb: number;
}

/** CPU-only types a standby may rent (no GPUs anywhere in this project). */
export const GCP_MACHINE_TYPES: readonly GcpMachineType[] = [
  { name: "e2-micro", vcpus: 2, memoryMb: 1024 },
  { name: "e2-small", vcpus: 2, memoryMb: 2048 },
  { name: "e2-medium", vcpus: 2, memoryMb: 4096 },
  { name: "e2-standard-2", vcpus: 2, memoryMb: 8192 },
  { name: "e2-standard-4", vcpus: 4, memoryMb: 16_384 },
  { name: "e2-standard-8", vcpus: 8, memoryMb: 32_768 },
  { name: "n2-standard-2", vcpus: 2, memoryMb: 8192 },
  { name: "n2-standard-4", vcpus: 4, memoryMb: 16_384 },
];

export function machineTypeNamed(name: string): GcpMachineType | undefined {
  return GCP_MACHINE_TYPES.find((t) => t.name === name);
}

/**
 * @module The Instance resource as Compute answers it, from a VM record.
 */
import { createHash } from "node:crypto";
import { rfc3339 } from "./gcp-operations";
import { statusOf, type GcpVm } from "./gcp-vm";

/** GCP's fingerprints: an opaque digest of the current value, base64. */
function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest().subarray(0, 8).toString("base64");
}

/**
 * `natIP` and the emulation's one extension, `sshPort` (gcp-wire.md [EXT]), appear only while
 * RUNNING: natIP is the market's bridge address, where the VM's SSH server listens for the host
 * and for every sandbox (`dumont-host` inside them).
 */
export function instanceView(
  vm: GcpVm,
  context: { computeUrl: string; projectId: string; sshAddress: string },
): Record<string, unknown> {
  const projectUrl = `${context.computeUrl}/projects/${context.projectId}`;
  const zoneUrl = `${projectUrl}/zones/${vm.zone.name}`;
  const status = statusOf(vm.phase);
  const reachable = status === "RUNNING" && vm.sshPort !== undefined;
  const metadata = { kind: "compute#metadata", fingerprint: fingerprint(vm.metadataItems), items: vm.metadataItems };
  const spot = vm.scheduling.provisioningModel === "SPOT";
  return {
    kind: "compute#instance",
    id: vm.id,
    creationTimestamp: rfc3339(vm.createdAtMs),
    name: vm.name,
    tags: { fingerprint: fingerprint([]) },
    machineType: `${zoneUrl}/machineTypes/${vm.machineType.name}`,
    status,
    ...(vm.statusMessage !== undefined ? { statusMessage: vm.statusMessage } : {}),
    zone: zoneUrl,
    canIpForward: false,
    networkInterfaces: [
      {
        kind: "compute#networkInterface",
        network: `${projectUrl}/global/networks/default`,
        subnetwork: `${projectUrl}/regions/${vm.zone.region}/subnetworks/default`,
        networkIP: vm.networkIP,
        name: "nic0",
        stackType: "IPV4_ONLY",
        fingerprint: fingerprint(vm.networkIP),
        accessConfigs: vm.accessConfigs.map((access, index) => ({
          kind: "compute#accessConfig",
          type: access.type,
          name: access.name,
          networkTier: "PREMIUM",
          ...(index === 0 && reachable ? { natIP: context.sshAddress, sshPort: vm.sshPort } : {}),
        })),
      },
    ],
    disks: [
      {
        kind: "compute#attachedDisk",
        type: "PERSISTENT",
        mode: "READ_WRITE",
        source: `${zoneUrl}/disks/${vm.name}`,
        deviceName: vm.name,
        index: 0,
        boot: true,
        autoDelete: true,
        interface: "SCSI",
        diskSizeGb: vm.diskSizeGb,
        architecture: "X86_64",
      },
    ],
    metadata,
    selfLink: `${zoneUrl}/instances/${vm.name}`,
    scheduling: {
      onHostMaintenance: spot ? "TERMINATE" : "MIGRATE",
      automaticRestart: !spot,
      preemptible: false,
      provisioningModel: vm.scheduling.provisioningModel,
      ...(vm.scheduling.instanceTerminationAction
        ? { instanceTerminationAction: vm.scheduling.instanceTerminationAction }
        : {}),
    },
    cpuPlatform: vm.machineType.name.startsWith("n2") ? "Intel Cascade Lake" : "AMD Rome",
    labels: vm.labels,
    labelFingerprint: fingerprint(vm.labels),
    startRestricted: false,
    deletionProtection: false,
    fingerprint: fingerprint([vm.id, vm.phase]),
    ...(vm.lastStartMs !== undefined ? { lastStartTimestamp: rfc3339(vm.lastStartMs) } : {}),
    ...(vm.lastStopMs !== undefined ? { lastStopTimestamp: rfc3339(vm.lastStopMs) } : {}),
  };
}

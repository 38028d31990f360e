import { DumontError } from "@dumont/core";
import type { StandbyMachine, StandbyMachineRequest, StandbyMachineState } from "../standby/standby-provider";
import type { GcpInstance } from "./gcp-schemas";

// Pure translation between Dumont's standby requests and Compute Engine's instance resources.

/** The boot image of every standby: a stock Debian, whose family follows security updates. */
export const STANDBY_SOURCE_IMAGE = "projects/debian-cloud/global/images/family/debian-12";

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Loose enough for every zone name GCP has used (us-central1-a, northamerica-northeast2-c, …),
// strict enough that it cannot change the URL path it is put in.
const ZONE = /^[a-z][-a-z0-9]{1,62}$/;
const MACHINE_TYPE = /^[a-z][-a-z0-9]{0,62}$/;
// GCP's label rules: keys start with a lowercase letter; both are at most 63 lowercase letters,
// digits, `_` or `-` (international lowercase letters too). Nothing here can break out of a filter's quotes.
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

function invalid(message: string, field: string): DumontError {
  return new DumontError({ code: "VALIDATION_FAILED", message, details: { field } });
}

export function assertInstanceName(name: string): void {
  if (!NAME.test(name)) {
    throw invalid(
      `standby machine name ${JSON.stringify(name.slice(0, 80))} is not a GCP instance name (lowercase letters, digits and dashes, starting with a letter, at most 63)`,
      "name",
    );
  }
}

export function assertZone(zone: string): void {
  if (!ZONE.test(zone)) throw invalid(`${JSON.stringify(zone.slice(0, 80))} is not a GCP zone name`, "zone");
}

export function assertLabel(key: string, value: string): void {
  if (!LABEL_KEY.test(key)) {
    throw invalid(`label key ${JSON.stringify(key.slice(0, 80))} is not allowed by GCP`, "labels");
  }
  if (!LABEL_VALUE.test(value)) {
    throw invalid(`label value ${JSON.stringify(value.slice(0, 80))} (key ${key}) is not allowed by GCP`, "labels");
  }
}

/** The provider's status word as our state. Unknown words read as `repairing`: not ours to act on. */
export function standbyStateOf(status: string): StandbyMachineState {
  switch (status) {
    case "PROVISIONING":
    case "STAGING":
      return "provisioning";
    case "RUNNING":
      return "running";
    case "STOPPING":
    case "SUSPENDING":
      return "stopping";
    case "TERMINATED":
    case "SUSPENDED":
    case "STOPPED":
      return "stopped";
    default:
      return "repairing";
  }
}

/** `labels.KEY="VALUE"`, the aggregated list's filter for one label (checked, so nothing is injected). */
export function labelFilter(key: string, value: string): string {
  assertLabel(key, value);
  return `labels.${key}="${value}"`;
}

/** The instances.insert body for a standby machine (validates the request first). */
/**
 * Run by GCE's guest environment at every boot of a standby (the emulation has no guest agent and
 * ignores it). Debian's images refuse root logins and the guest agent manages other users' keys,
 * so the script itself installs the `root:` keys from our own `ssh-keys` metadata for root (keys
 * only: `PermitRootLogin prohibit-password`) and makes sure rsync is there for the GPU to push to.
 * It is a fixed text: nothing of the user's is interpolated into it.
 */
export const STANDBY_STARTUP_SCRIPT = [
  "#!/bin/sh",
  "set -eu",
  "md=http://metadata.google.internal/computeMetadata/v1/instance/attributes/ssh-keys",
  "mkdir -p /root/.ssh /workspace && chmod 700 /root/.ssh",
  "curl -fsS -H 'Metadata-Flavor: Google' \"$md\" | sed -n 's/^root://p' > /root/.ssh/authorized_keys.new",
  "chmod 600 /root/.ssh/authorized_keys.new && mv /root/.ssh/authorized_keys.new /root/.ssh/authorized_keys",
  "printf 'PermitRootLogin prohibit-password\\n' > /etc/ssh/sshd_config.d/dumont-standby.conf",
  "systemctl reload ssh || systemctl reload sshd || true",
  "command -v rsync >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -yq rsync; }",
  "",
].join("\n");

export function buildInsertBody(request: StandbyMachineRequest): Record<string, unknown> {
  assertInstanceName(request.name);
  assertZone(request.zone);
  if (!MACHINE_TYPE.test(request.machineType)) {
    throw invalid(`${JSON.stringify(request.machineType.slice(0, 80))} is not a GCP machine type name`, "machineType");
  }
  // The Debian image is 10 GB; 64 TB is Persistent Disk's limit.
  if (!Number.isInteger(request.diskGb) || request.diskGb < 10 || request.diskGb > 65_536) {
    throw invalid(`diskGb must be a whole number from 10 to 65536, not ${request.diskGb}`, "diskGb");
  }
  const labels = Object.entries(request.labels);
  if (labels.length > 64) throw invalid("GCP allows at most 64 labels on an instance", "labels");
  for (const [key, value] of labels) assertLabel(key, value);
  const keyLines = request.sshPublicKeys.map((key) => {
    const line = key.trim();
    // One key per line in `ssh-keys`: a newline inside a key would add a line of someone's choosing.
    if (!line || /[\r\n]/.test(line)) throw invalid("an SSH public key is empty or spans lines", "sshPublicKeys");
    return `root:${line}`;
  });
  return {
    name: request.name,
    machineType: `zones/${request.zone}/machineTypes/${request.machineType}`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { diskSizeGb: String(request.diskGb), sourceImage: STANDBY_SOURCE_IMAGE },
      },
    ],
    networkInterfaces: [
      { network: "global/networks/default", accessConfigs: [{ type: "ONE_TO_ONE_NAT", name: "External NAT" }] },
    ],
    labels: { ...request.labels },
    metadata: {
      items: [
        ...(keyLines.length ? [{ key: "ssh-keys", value: keyLines.join("\n") }] : []),
        { key: "startup-script", value: STANDBY_STARTUP_SCRIPT },
      ],
    },
    // STOP, not DELETE, on preemption: the disk (the standby's copy of the workspace) survives.
    scheduling: request.spot ? { provisioningModel: "SPOT", instanceTerminationAction: "STOP" } : {},
  };
}

/** A Compute instance as a standby machine; `zone` is used when the reply's own zone is unreadable. */
export function toStandbyMachine(instance: GcpInstance, zone: string): StandbyMachine {
  const nat = instance.networkInterfaces[0]?.accessConfigs[0];
  const created = instance.creationTimestamp ? Date.parse(instance.creationTimestamp) : Number.NaN;
  return {
    name: instance.name,
    zone: lastSegment(instance.zone) || zone,
    state: standbyStateOf(instance.status),
    rawStatus: instance.status,
    machineType: lastSegment(instance.machineType),
    spot: instance.scheduling.provisioningModel === "SPOT" || instance.scheduling.preemptible === true,
    labels: instance.labels,
    // Real GCP has SSH on 22; the emulation says where its machine listens ([EXT] sshPort).
    ssh: nat?.natIP ? { host: nat.natIP, port: nat.sshPort ?? 22, user: "root" } : null,
    createdAt: Number.isFinite(created) ? created : null,
  };
}

function lastSegment(link: string): string {
  return link.slice(link.lastIndexOf("/") + 1);
}

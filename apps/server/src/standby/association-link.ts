import type { InstanceRow, StandbyAssociationRow } from "@dumont/db";
import type { SshEndpoint } from "@dumont/providers";
import type { StandbyLink } from "../transfer/standby-sync";

/** The standby's SSH endpoint as recorded (the same address serves the control plane and the GPU). */
export function standbyEndpoint(row: StandbyAssociationRow): SshEndpoint | undefined {
  if (!row.vm_ssh_host || !row.vm_ssh_port) return undefined;
  return { host: row.vm_ssh_host, port: row.vm_ssh_port, user: "root" };
}

export function gpuEndpoint(instance: InstanceRow): SshEndpoint | undefined {
  if (!instance.ssh_host || !instance.ssh_port) return undefined;
  return { host: instance.ssh_host, port: instance.ssh_port, user: "root" };
}

/**
 * What a sync needs: how the control plane reaches the GPU (its control key), and how the GPU
 * reaches the standby (the association's own key and the standby's pinned host key). Undefined
 * while either machine has no address yet.
 */
export function linkOf(
  row: StandbyAssociationRow,
  gpu: InstanceRow,
  keys: { gpuPrivateKey: string; syncPrivateKey: string },
): StandbyLink | undefined {
  const standby = standbyEndpoint(row);
  const gpuSsh = gpuEndpoint(gpu);
  if (!standby || !gpuSsh || !row.vm_host_key) return undefined;
  return {
    associationId: row.id,
    gpu: gpuSsh,
    gpuPrivateKey: keys.gpuPrivateKey,
    standby,
    standbyHostKey: row.vm_host_key,
    syncPrivateKey: keys.syncPrivateKey,
  };
}

/** The labels every standby machine carries from its first moment (the orphan collector lists by them). */
export function standbyLabels(installationId: string, associationId: string): Record<string, string> {
  return { "dumont-installation": installationId, "dumont-resource": associationId, "dumont-role": "standby" };
}

export function excludesOf(row: StandbyAssociationRow): string[] {
  const parsed: unknown = JSON.parse(row.excludes);
  return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === "string") : [];
}

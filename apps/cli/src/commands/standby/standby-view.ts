import { formatFields, formatTable } from "../../output";
import { duration, perHour, usd } from "../../money";

/** The fields of a standby association as the API returns them (the CLI stays free of zod at start-up). */
export interface AssociationLike {
  id: string;
  status: string;
  instance_id: string;
  gpu_instance_id: string;
  provider: string;
  simulated: boolean;
  zone: string;
  machine_type: string;
  disk_gb: number;
  spot: boolean;
  vm_name: string;
  cpu_ssh_host: string | null;
  cpu_ssh_port: number | null;
  active: {
    role: "gpu" | "cpu";
    instance_id: string | null;
    ssh_host: string | null;
    ssh_port: number | null;
    since: string;
  };
  sync_interval_s: number;
  excludes: string[];
  auto_failover: boolean;
  auto_recovery: boolean;
  sync_count: number;
  last_sync_at: string | null;
  last_sync_age_seconds: number | null;
  last_sync_bytes: number | null;
  last_sync_files: number | null;
  last_sync_duration_ms: number | null;
  last_sync_error: string | null;
  health_failures: number;
  requested_action: string | null;
  price_per_hour: number;
  cost_usd: number;
  error: string | null;
  created_at: string;
}

/** The mark every line about a simulated standby carries (the local market's emulated GCP project). */
export const SIMULATED_MARK = "[SIMULATED]";
export const SIMULATED_STANDBY_NOTE =
  "SIMULATED standby: a sandbox on this computer in the local market's emulated GCP project; no money is spent.";

/** Statuses a standby leaves only by itself or by being deleted: waits end there. */
export const STANDBY_ENDED = ["destroyed", "failed"];

/** What each state means for the workspace, in a few words. */
const MEANING: Record<string, string> = {
  provisioning: "renting the CPU machine and pairing it with the GPU",
  syncing: "the GPU serves the workspace; it is pushed to the standby",
  failover_active: "the CPU standby serves the workspace",
  recovering: "getting a GPU back and restoring the workspace onto it",
  disabled: "sync stopped; the standby machine is kept",
  destroying: "destroying the standby machine",
  destroyed: "the standby machine is gone (confirmed by the provider)",
  failed: "the standby failed",
};

/** "GPU ins_…" or "CPU standby <vm name>": which machine serves the workspace now. */
export function activeMachine(a: AssociationLike): string {
  return a.active.role === "cpu" ? `CPU standby ${a.vm_name}` : `GPU ${a.active.instance_id ?? a.gpu_instance_id}`;
}

/** Bytes as people read them (binary units, as rsync and du count). */
export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}

/** "12 s ago", "3m 07s ago"; "never" before the first sync. */
export function ago(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "never";
  return seconds < 60 ? `${Math.max(0, Math.round(seconds))} s ago` : `${duration(seconds)} ago`;
}

/** Milliseconds measured by the server: "350 ms", "4.2 s", "3m 07s"; "—" when not measured. */
export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return duration(ms / 1000);
}

/** The last sync in one phrase: when, how much, how long, and whether it failed. */
function lastSync(a: AssociationLike): string {
  if (a.last_sync_at === null) return a.last_sync_error ? `never succeeded (${a.last_sync_error})` : "not yet";
  const files = a.last_sync_files ?? 0;
  const size = `${bytes(a.last_sync_bytes)} sent, ${files} file${files === 1 ? "" : "s"}`;
  return `${ago(a.last_sync_age_seconds)}: ${size}, took ${millis(a.last_sync_duration_ms)}`;
}

function mark(a: AssociationLike): string {
  return a.simulated ? ` ${SIMULATED_MARK}` : "";
}

export function associationDetails(a: AssociationLike): string {
  const lines: string[] = [];
  if (a.simulated) lines.push(`[${SIMULATED_STANDBY_NOTE}]`);
  const where = a.active.ssh_host && a.active.ssh_port ? ` (${a.active.ssh_host}:${a.active.ssh_port})` : "";
  const pending = a.requested_action ? `, ${a.requested_action} requested` : "";
  lines.push(
    formatFields({
      standby: `${a.id}${mark(a)}`,
      instance:
        a.gpu_instance_id === a.instance_id ? a.instance_id : `${a.instance_id} (now on GPU ${a.gpu_instance_id})`,
      state: `${a.status}${pending}: ${MEANING[a.status] ?? a.status}`,
      active: `${activeMachine(a)}${where} since ${a.active.since}${mark(a)}`,
      machine: `${a.vm_name}: ${a.machine_type}, ${a.disk_gb} GB disk, ${a.spot ? "spot" : "on-demand"}, ${a.zone}, ${a.provider}${mark(a)}`,
      "sync every": `${a.sync_interval_s} s${a.excludes.length > 0 ? `, excluding ${a.excludes.join(" ")}` : ""}`,
      "last sync": lastSync(a),
      syncs: a.sync_count,
      "sync error": a.last_sync_error,
      health:
        a.health_failures > 0
          ? `${a.health_failures} failed GPU check${a.health_failures === 1 ? "" : "s"} in a row`
          : "ok",
      automatic: `failover ${a.auto_failover ? "on" : "off"}, recovery ${a.auto_recovery ? "on" : "off"}`,
      price: `${perHour(a.price_per_hour)} (machine + disk)${mark(a)}`,
      [STANDBY_ENDED.includes(a.status) ? "cost" : "cost so far"]: `${usd(a.cost_usd)}${mark(a)}`,
      created: a.created_at,
      error: a.error,
    }),
  );
  return lines.join("\n");
}

export function associationTable(associations: AssociationLike[], empty: string): string {
  if (associations.length === 0) return empty;
  const table = formatTable(
    ["standby", "instance", "state", "active", "last sync", "syncs", "$/h", "cost", ""],
    associations.map((a) => [
      a.id,
      a.instance_id,
      a.requested_action ? `${a.status} (${a.requested_action} requested)` : a.status,
      activeMachine(a),
      a.last_sync_at === null ? "never" : `${ago(a.last_sync_age_seconds)}, ${bytes(a.last_sync_bytes)}`,
      a.sync_count,
      perHour(a.price_per_hour),
      usd(a.cost_usd),
      a.simulated ? SIMULATED_MARK : "",
    ]),
  );
  const lines: string[] = [];
  if (associations.some((a) => a.simulated)) lines.push(`${SIMULATED_MARK} = ${SIMULATED_STANDBY_NOTE}`);
  lines.push(table);
  const errors = associations.filter((a) => a.error || a.last_sync_error);
  for (const a of errors) lines.push(`${a.id}: ${a.error ?? a.last_sync_error}${mark(a)}`);
  return lines.join("\n");
}

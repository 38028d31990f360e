import { formatFields, formatTable } from "../../output";
import { SIMULATED_BANNER, duration, perHour, usd } from "../../money";

/** The fields of an instance as the API returns them (the CLI stays free of zod at start-up). */
export interface InstanceLike {
  id: string;
  status: string;
  gpu_name: string;
  num_gpus: number;
  dph_total: number;
  interruptible: boolean;
  simulated: boolean;
  machine_id: string | null;
  geolocation: string | null;
  ssh_command: string | null;
  ssh_host: string | null;
  ssh_port: number | null;
  status_message: string | null;
  error: string | null;
  label: string;
  image: string;
  disk_gb: number;
  created_at: string;
  ready_at: string | null;
  uptime_seconds: number | null;
  cost_usd: number;
}

const ENDED = ["destroyed", "failed"];

/** "2x RTX 4090", or "pending" while the marketplace has not said which machine it is. */
function gpuOf(i: InstanceLike): string {
  if (i.num_gpus <= 0 || i.gpu_name === "pending") return "pending";
  return i.num_gpus > 1 ? `${i.num_gpus}x ${i.gpu_name}` : i.gpu_name;
}

/** Cost so far, or "—" before the create call (nothing is billed yet). */
function costOf(i: InstanceLike): string {
  return i.uptime_seconds === null ? "—" : usd(i.cost_usd);
}

export function instanceTable(instances: InstanceLike[]): string {
  if (instances.length === 0) return "No instances. Find offers with `dumont instance offers --preset test`.";
  const simulated = instances.filter((i) => i.simulated).length;
  const mixed = simulated > 0 && simulated < instances.length;
  const table = formatTable(
    ["id", "status", "gpu", "$/h", "uptime", "cost", "type", "where", "ssh"],
    instances.map((i) => [
      i.id,
      i.status,
      mixed && i.simulated ? `${gpuOf(i)} [SIMULATED]` : gpuOf(i),
      perHour(i.dph_total),
      duration(i.uptime_seconds),
      costOf(i),
      i.interruptible ? "spot" : "on-demand",
      i.geolocation,
      i.ssh_host && i.ssh_port ? `${i.ssh_host}:${i.ssh_port}` : null,
    ]),
  );
  const lines: string[] = [];
  if (simulated > 0) lines.push(mixed ? `[SIMULATED] = ${SIMULATED_BANNER}` : `[${SIMULATED_BANNER}]`);
  lines.push(
    table,
    "",
    "$/h includes each machine's own disk; uptime and cost run from the create call to the confirmed destroy.",
  );
  return lines.join("\n");
}

export function instanceDetails(i: InstanceLike): string {
  const ended = ENDED.includes(i.status);
  const price = perHour(i.dph_total);
  const lines = [
    formatFields({
      id: i.id,
      status: i.status,
      market: i.simulated ? "SIMULATED local marketplace (no real GPUs, no money spent)" : "vast.ai",
      gpu: gpuOf(i),
      price:
        price === "pending"
          ? "pending (the marketplace has not quoted it yet)"
          : `${price} ${i.interruptible ? "(interruptible)" : "(on-demand)"}, compute + storage for its ${i.disk_gb} GB disk`,
      uptime:
        i.uptime_seconds === null
          ? "— (not rented yet)"
          : `${duration(i.uptime_seconds)} ${ended ? "from the create call to the confirmed destroy" : "since the create call"}`,
      [ended ? "cost" : "cost so far"]:
        i.uptime_seconds === null
          ? "— (nothing billed yet)"
          : `${usd(i.cost_usd)}${i.status === "paused" ? " (paused time counted at the full price: an upper bound)" : ""}`,
      "machine id": i.machine_id,
      where: i.geolocation,
      image: i.image,
      disk: `${i.disk_gb} GB`,
      label: i.label,
      created: i.created_at,
      ready: i.ready_at,
      detail: i.status_message,
      error: i.error,
    }),
  ];
  if (i.ssh_command) lines.push("", `Connect:  ${i.ssh_command}`, `      or:  dumont instance ssh ${i.id}`);
  return lines.join("\n");
}

import { formatFields, formatTable } from "../../output";

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
}

export function instanceTable(instances: InstanceLike[]): string {
  if (instances.length === 0) return "No instances. Find offers with `dumont instance offers --preset test`.";
  return formatTable(
    ["id", "status", "gpu", "$/h", "type", "where", "ssh"],
    instances.map((i) => [
      i.id,
      i.status,
      i.num_gpus > 1 ? `${i.num_gpus}x ${i.gpu_name}` : i.gpu_name,
      i.dph_total.toFixed(3),
      i.interruptible ? "spot" : "on-demand",
      i.geolocation,
      i.ssh_host && i.ssh_port ? `${i.ssh_host}:${i.ssh_port}` : null,
    ]),
  );
}

export function instanceDetails(i: InstanceLike): string {
  const lines = [
    formatFields({
      id: i.id,
      status: i.status,
      gpu: `${i.num_gpus}x ${i.gpu_name}`,
      price: `$${i.dph_total.toFixed(3)}/h ${i.interruptible ? "(interruptible)" : "(on-demand)"}`,
      market: i.simulated ? "SIMULATED local marketplace" : "vast.ai",
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

import { formatTable } from "../../output";
import { SIMULATED_BANNER, duration, perHour, usd } from "../../money";

export interface DeploymentLike {
  id: string;
  status: string;
  strategy: string;
  progress: { batch: number; offers_found: number; tried: number; created: number; destroyed: number };
  candidates: {
    instance_id: string;
    offer_id: string;
    host_id: string | null;
    batch: number;
    gpu_name: string;
    dph_total: number;
    status: string;
    error: string | null;
    seconds: number | null;
    cost_usd: number;
  }[];
  winner_instance_id: string | null;
  ssh_command: string | null;
  time_to_ready_seconds: number | null;
  error: string | null;
  simulated: boolean;
  total_cost_usd: number;
}

export const FINAL_STATUSES = ["completed", "failed", "cancelled"];

export function deploymentSummary(d: DeploymentLike): string {
  const lines = [
    ...(d.simulated ? [`[${SIMULATED_BANNER}]`] : []),
    `${d.id}: ${d.status} (${d.strategy}${d.simulated ? ", SIMULATED market" : ""}) — batch ${d.progress.batch}, offers ${d.progress.offers_found}, tried ${d.progress.tried}, rented ${d.progress.created}, destroyed ${d.progress.destroyed}, cost ${usd(d.total_cost_usd)}`,
  ];
  if (d.candidates.length > 0) {
    lines.push(
      formatTable(
        ["candidate", "batch", "gpu", "$/h", "host", "state", "billed", "cost", "note"],
        d.candidates.map((c) => [
          c.instance_id,
          c.batch,
          c.gpu_name,
          perHour(c.dph_total),
          c.host_id,
          c.instance_id === d.winner_instance_id ? `${c.status} ★ winner` : c.status,
          duration(c.seconds),
          c.seconds === null ? "—" : usd(c.cost_usd),
          c.error?.slice(0, 60),
        ]),
      ),
    );
  }
  if (d.error) lines.push(`error: ${d.error}`);
  if (d.ssh_command) lines.push("", `Ready in ${d.time_to_ready_seconds ?? "?"} s. Connect:  ${d.ssh_command}`);
  if (d.status === "ready") {
    lines.push(
      `The other candidates are being destroyed now (billed until then); \`dumont wizard status ${d.id}\` shows it end completed.`,
    );
  }
  return lines.join("\n");
}

import type { SshEndpoint } from "../provider";
import { sshExec } from "./ssh-session";

export interface GpuMetrics {
  name: string;
  memoryTotalMb: number;
  memoryUsedMb: number;
  utilizationPercent: number;
  temperatureC: number | null;
}

const QUERY =
  "nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu,temperature.gpu --format=csv,noheader,nounits";

/** One entry per GPU as `nvidia-smi` on the machine reports it; empty when it has none. */
export async function readGpuMetrics(endpoint: SshEndpoint, privateKey: string): Promise<GpuMetrics[]> {
  const result = await sshExec({ endpoint, privateKey, command: QUERY, timeoutMs: 30_000 });
  if (result.exitCode !== 0) return [];
  return parseGpuCsv(result.stdout);
}

export function parseGpuCsv(text: string): GpuMetrics[] {
  return text
    .split("\n")
    .map((line) => line.split(",").map((part) => part.trim()))
    .filter((parts) => parts.length >= 4 && parts[0])
    .map(([name, total, used, util, temp]) => ({
      name: name ?? "",
      memoryTotalMb: Number(total),
      memoryUsedMb: Number(used),
      utilizationPercent: Number(util),
      temperatureC: temp === undefined || Number.isNaN(Number(temp)) ? null : Number(temp),
    }));
}

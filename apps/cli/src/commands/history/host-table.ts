import { formatTable } from "../../output";

export interface HostStatsLike {
  provider: string;
  machine_id: string;
  gpu_name: string;
  total_attempts: number;
  abandoned_attempts: number;
  success_rate: number;
  avg_time_to_ready: number | null;
  reliability_status: string;
  is_blacklisted: boolean;
  last_seen: string;
}

export function hostTable(hosts: HostStatsLike[]): string {
  if (hosts.length === 0) return "No hosts match.";
  return formatTable(
    [
      "provider",
      "host",
      "gpu",
      "attempts",
      "abandoned",
      "success",
      "avg ready s",
      "status",
      "blacklisted",
      "last seen",
    ],
    hosts.map((h) => [
      h.provider,
      h.machine_id,
      h.gpu_name,
      h.total_attempts,
      h.abandoned_attempts,
      `${Math.round(h.success_rate * 100)}%`,
      h.avg_time_to_ready === null ? null : Math.round(h.avg_time_to_ready),
      h.reliability_status,
      h.is_blacklisted ? "yes" : "no",
      h.last_seen,
    ]),
  );
}

import type { StandbyFailoverRow } from "@dumont/db";
import { readPhases, shownPhases } from "./failover-phases";
import { iso, isoOrNull } from "../server-context";

type Kind = "automatic" | "planned" | "recovery" | "failback";

export function failoverView(row: StandbyFailoverRow, instanceId: string) {
  const phases = shownPhases(readPhases(row));
  return {
    id: row.id,
    association_id: row.association_id,
    instance_id: instanceId,
    kind: row.kind as Kind,
    reason: row.reason,
    started_at: iso(row.started_at),
    completed_at: isoOrNull(row.completed_at),
    success: row.success === null ? null : row.success === 1,
    error: row.error,
    phases_ms: phases,
    total_ms: row.completed_at === null ? null : row.completed_at - row.started_at,
    from_instance_id: row.from_instance_id,
    to_instance_id: row.to_instance_id,
    data_age_ms: row.data_age_ms,
  };
}

/**
 * The report's figures, from measured rows only. RTO: an automatic failover's detect + switch
 * (GPU lost → the CPU serving the workspace). MTTR: an automatic failover's whole way back (GPU
 * lost → the workspace verified on a new GPU). Success rate over the ones that ended.
 */
export function failoverSummary(rows: readonly StandbyFailoverRow[]) {
  const ended = rows.filter((r) => r.success !== null);
  const succeeded = ended.filter((r) => r.success === 1).length;
  const automatic = rows.filter((r) => r.kind === "automatic");
  const rtos = automatic
    .map((r) => readPhases(r))
    .filter((p) => p.switch !== undefined)
    .map((p) => (p.detect ?? 0) + (p.switch ?? 0));
  const mttrs = automatic
    .filter((r) => r.success === 1 && r.completed_at !== null && r.to_instance_id !== null)
    .map((r) => (r.completed_at ?? r.started_at) - r.started_at);
  const phaseSums = new Map<string, { sum: number; n: number }>();
  for (const row of rows) {
    for (const [name, ms] of Object.entries(shownPhases(readPhases(row)))) {
      const entry = phaseSums.get(name) ?? { sum: 0, n: 0 };
      entry.sum += ms;
      entry.n += 1;
      phaseSums.set(name, entry);
    }
  }
  return {
    total: rows.length,
    succeeded,
    failed: ended.length - succeeded,
    in_progress: rows.length - ended.length,
    success_rate: ended.length === 0 ? null : Math.round((succeeded / ended.length) * 1000) / 1000,
    mttr_ms: mean(mttrs),
    mean_rto_ms: mean(rtos),
    mean_phases_ms: Object.fromEntries([...phaseSums].map(([name, { sum, n }]) => [name, Math.round(sum / n)])),
  };
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.round(values.reduce((a, b) => a + b, 0) / values.length);
}

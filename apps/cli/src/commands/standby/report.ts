import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";
import { millis } from "./standby-view";

function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 365) throw new InvalidArgumentError(`expected 1 to 365 days, got ${value}`);
  return n;
}

/** "detect 2.1 s, switch 300 ms": phases in the order they were measured. */
function phases(phasesMs: Record<string, number>): string {
  const entries = Object.entries(phasesMs);
  return entries.length === 0 ? "—" : entries.map(([name, ms]) => `${name} ${millis(ms)}`).join(", ");
}

function result(success: boolean | null): string {
  return success === null ? "in progress" : success ? "ok" : "FAILED";
}

/**
 * `dumont standby report [--days=30] [--standby <id>]`: failovers, migrations and recoveries with
 * their measured phases, the mean time to recover (automatic failovers: GPU lost → back on a GPU),
 * the RTO (GPU lost → CPU serving) and the success rate.
 */
export function registerStandbyReport(standby: Command, cli: CliRuntime): void {
  standby
    .command("report")
    .description("failovers and recoveries: MTTR, RTO, success rate, mean phases, one line each")
    .option("--days <n>", "the last N days (1-365)", days, 30)
    .option("--standby <id>", "one standby only (its id, or its instance's)")
    .action(
      cli.action(async (o: { days: number; standby?: string }) => {
        const r = await (
          await cli.client()
        ).call("listStandbyFailovers", {
          query: { days: o.days, association_id: o.standby },
        });
        cli.print(r, () => {
          const rate = r.success_rate === null ? "—" : `${Math.round(r.success_rate * 100)}%`;
          const lines = [
            `Failovers in the last ${r.period_days} days: ${r.total} (${r.succeeded} ok, ${r.failed} failed, ${r.in_progress} in progress); success rate ${rate}`,
            `MTTR: ${millis(r.mttr_ms)} (automatic failovers: GPU lost → workspace back on a GPU)`,
            `RTO:  ${millis(r.mean_rto_ms)} (mean: GPU lost → CPU standby serving)`,
            `Mean phases: ${phases(r.mean_phases_ms)}`,
          ];
          if (r.failovers.length === 0) return [...lines, "", "No failovers in this period."].join("\n");
          const table = formatTable(
            ["started", "kind", "instance", "result", "total", "from", "to", "data age", "phases"],
            r.failovers.map((f) => [
              f.started_at,
              f.kind,
              f.instance_id,
              f.error ? `${result(f.success)}: ${f.error}` : result(f.success),
              millis(f.total_ms),
              // No GPU on that side: the CPU standby served the workspace.
              f.from_instance_id ?? "CPU standby",
              f.to_instance_id ?? "CPU standby",
              millis(f.data_age_ms),
              phases(f.phases_ms),
            ]),
          );
          return [...lines, "", table].join("\n");
        });
      }),
    );
}

import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields, formatTable } from "../../output";

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected whole hours ≥ 1, got ${value}`);
  return n;
}

interface HostStatsLike {
  provider: string;
  machine_id: string;
  gpu_name: string;
  total_attempts: number;
  success_rate: number;
  avg_time_to_ready: number | null;
  reliability_status: string;
  is_blacklisted: boolean;
  last_seen: string;
}

function hostTable(hosts: HostStatsLike[]): string {
  if (hosts.length === 0) return "No hosts match.";
  return formatTable(
    ["provider", "host", "gpu", "attempts", "success", "avg ready s", "status", "blacklisted", "last seen"],
    hosts.map((h) => [
      h.provider,
      h.machine_id,
      h.gpu_name,
      h.total_attempts,
      `${Math.round(h.success_rate * 100)}%`,
      h.avg_time_to_ready === null ? null : Math.round(h.avg_time_to_ready),
      h.reliability_status,
      h.is_blacklisted ? "yes" : "no",
      h.last_seen,
    ]),
  );
}

/** `dumont history summary|list|stats|problematic|reliable`: what we learned about hosts. */
export function registerHistoryCommands(history: Command, cli: CliRuntime): void {
  history
    .command("summary")
    .description("attempts, success rate and failure stages")
    .option("--provider <provider>", "e.g. vast.ai")
    .option("--hours <n>", "period", hours, 24)
    .action(
      cli.action(async (o: { provider?: string; hours: number }) => {
        const s = await (
          await cli.client()
        ).call("historySummary", { query: { provider: o.provider, hours: o.hours } });
        cli.print(s, () =>
          formatFields({
            period: `${s.period_hours} h`,
            attempts: s.total_attempts,
            successful: s.successful,
            failed: s.failed,
            "success rate": `${Math.round(s.success_rate * 100)}%`,
            "failures by stage":
              Object.entries(s.failure_stages)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ") || "-",
            "blacklisted hosts": s.blacklisted_machines,
          }),
        );
      }),
    );
  history
    .command("list")
    .description("recorded attempts, newest first")
    .option("--provider <provider>")
    .option("--machine <id>", "one host")
    .option("--hours <n>", "period", hours, 72)
    .option("--limit <n>", "at most", "100")
    .action(
      cli.action(async (o: { provider?: string; machine?: string; hours: number; limit: string }) => {
        const { attempts } = await (
          await cli.client()
        ).call("historyAttempts", {
          query: { provider: o.provider, machine_id: o.machine, hours: o.hours, limit: Number(o.limit) },
        });
        cli.print(attempts, () =>
          attempts.length === 0
            ? "No attempts recorded in this period."
            : formatTable(
                ["when", "host", "gpu", "$/h", "result", "stage", "ready s", "reason"],
                attempts.map((a) => [
                  a.attempted_at,
                  `${a.provider}/${a.machine_id}`,
                  a.gpu_name,
                  a.price_per_hour.toFixed(3),
                  a.success ? "ok" : "failed",
                  a.failure_stage,
                  a.time_to_ready_seconds === null ? null : Math.round(a.time_to_ready_seconds),
                  a.failure_reason?.slice(0, 60),
                ]),
              ),
        );
      }),
    );
  history
    .command("stats")
    .description("what we know of one host")
    .argument("<provider>")
    .argument("<machine_id>")
    .action(
      cli.action(async (provider: string, machineId: string) => {
        const s = await (await cli.client()).call("historyHostStats", { params: { provider, machine_id: machineId } });
        cli.print(s, () => hostTable([s]));
      }),
    );
  for (const [name, route, description] of [
    ["problematic", "historyProblematic", "hosts that fail often"],
    ["reliable", "historyReliable", "hosts that work"],
  ] as const) {
    history
      .command(name)
      .description(description)
      .option("--provider <provider>")
      .action(
        cli.action(async (o: { provider?: string }) => {
          const { machines } = await (await cli.client()).call(route, { query: { provider: o.provider } });
          cli.print(machines, () => hostTable(machines));
        }),
      );
  }
}

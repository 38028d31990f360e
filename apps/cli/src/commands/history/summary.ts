import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields } from "../../output";
import { hours } from "./hours-option";

export function registerHistorySummary(history: Command, cli: CliRuntime): void {
  history
    .command("summary")
    .description("attempts, success rate and failure stages")
    .option("--provider <provider>", "vast.ai (or vast)")
    .option("--hours <n>", "period", hours, 24)
    .action(
      cli.action(async (o: { provider?: string; hours: number }) => {
        const s = await (
          await cli.client()
        ).call("historySummary", { query: { provider: o.provider, hours: o.hours } });
        cli.print(s, () =>
          formatFields({
            period: `${s.period_hours} h`,
            attempts: `${s.total_attempts} (every rented machine)`,
            successful: s.successful,
            failed: s.failed,
            abandoned: `${s.abandoned} (destroyed before ready, e.g. race losers: not failures)`,
            "success rate": `${Math.round(s.success_rate * 100)}% of successful + failed`,
            "failures by stage":
              Object.entries(s.failure_stages)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ") || "-",
            "blacklisted hosts": s.blacklisted_machines,
          }),
        );
      }),
    );
}

import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";
import { hours } from "./hours-option";

export function registerHistoryList(history: Command, cli: CliRuntime): void {
  history
    .command("list")
    .description("your recorded attempts, newest first (see `history stats` for every user's, per host)")
    .option("--provider <provider>", "vast.ai (or vast)")
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
                  a.outcome === "success" ? "ok" : a.outcome === "abandoned" ? "abandoned" : "failed",
                  a.failure_stage,
                  a.time_to_ready_seconds === null ? null : Math.round(a.time_to_ready_seconds),
                  a.failure_reason?.slice(0, 60),
                ]),
              ),
        );
      }),
    );
}

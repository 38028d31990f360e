import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";
import { bytes, millis } from "./standby-view";

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError(`expected 1 to 500, got ${value}`);
  return n;
}

/** `dumont standby syncs <id> [--limit N]`: the recent syncs, newest first. */
export function registerStandbySyncs(standby: Command, cli: CliRuntime): void {
  standby
    .command("syncs")
    .description("a standby's recent syncs (time, direction, bytes, files, duration), newest first")
    .argument("<id>", "the standby's id, or its instance's")
    .option("--limit <n>", "at most this many (1-500)", limit, 20)
    .action(
      cli.action(async (id: string, o: { limit: number }) => {
        const result = await (
          await cli.client()
        ).call("listStandbySyncs", {
          params: { id },
          query: { limit: o.limit },
        });
        cli.print(result, () => {
          if (result.syncs.length === 0) return "No syncs yet (the first runs once the standby is provisioned).";
          return formatTable(
            ["started", "direction", "result", "sent", "files", "took", "error"],
            result.syncs.map((s) => [
              s.started_at,
              s.direction === "gpu_to_cpu" ? "GPU → CPU" : "CPU → GPU",
              s.ok ? "ok" : "FAILED",
              bytes(s.bytes),
              s.files,
              millis(s.duration_ms),
              s.error,
            ]),
          );
        });
      }),
    );
}

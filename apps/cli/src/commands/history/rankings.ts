import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { hostTable } from "./host-table";

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got ${value}`);
  return n;
}

function rate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError(`expected a rate from 0 to 1, got ${value}`);
  return n;
}

const percent = (r: number) => `${Math.round(r * 100)}%`;

/**
 * `dumont history problematic|reliable`: the same listing, filtered from either end. The server's
 * defaults apply unless given; an empty answer names the thresholds that emptied it.
 */
export function registerHistoryRankings(history: Command, cli: CliRuntime): void {
  history
    .command("problematic")
    .description("hosts that fail often")
    .option("--provider <provider>", "vast.ai (or vast)")
    .option("--min-attempts <n>", "only hosts tried at least this often (default 3)", wholeNumber)
    .option("--max-success-rate <0-1>", "only hosts at or below this success rate (default 0.5)", rate)
    .action(
      cli.action(async (o: { provider?: string; minAttempts?: number; maxSuccessRate?: number }) => {
        const result = await (
          await cli.client()
        ).call("historyProblematic", {
          query: { provider: o.provider, min_attempts: o.minAttempts, max_success_rate: o.maxSuccessRate },
        });
        const { min_attempts, max_success_rate } = result.thresholds;
        cli.print(result.machines, () =>
          result.machines.length === 0
            ? `No host has ${min_attempts}+ attempts and a success rate ≤ ${percent(max_success_rate)} ` +
              `(--min-attempts ${min_attempts}, --max-success-rate ${max_success_rate}).`
            : hostTable(result.machines),
        );
      }),
    );
  history
    .command("reliable")
    .description("hosts that work")
    .option("--provider <provider>", "vast.ai (or vast)")
    .option("--min-attempts <n>", "only hosts tried at least this often (default 5)", wholeNumber)
    .option("--min-success-rate <0-1>", "only hosts at or above this success rate (default 0.8)", rate)
    .action(
      cli.action(async (o: { provider?: string; minAttempts?: number; minSuccessRate?: number }) => {
        const result = await (
          await cli.client()
        ).call("historyReliable", {
          query: { provider: o.provider, min_attempts: o.minAttempts, min_success_rate: o.minSuccessRate },
        });
        const { min_attempts, min_success_rate } = result.thresholds;
        cli.print(result.machines, () =>
          result.machines.length === 0
            ? `No host has ${min_attempts}+ attempts and a success rate ≥ ${percent(min_success_rate)} ` +
              `(--min-attempts ${min_attempts}, --min-success-rate ${min_success_rate}).`
            : hostTable(result.machines),
        );
      }),
    );
}

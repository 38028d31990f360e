import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { hostTable } from "./host-table";

/** `dumont history problematic|reliable`: the same listing, filtered from either end. */
export function registerHistoryRankings(history: Command, cli: CliRuntime): void {
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

import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { hostTable } from "./host-table";

export function registerHistoryStats(history: Command, cli: CliRuntime): void {
  history
    .command("stats")
    .description("what we know of one host")
    .argument("<provider>", "vast.ai (or vast)")
    .argument("<machine_id>")
    .action(
      cli.action(async (provider: string, machineId: string) => {
        const s = await (await cli.client()).call("historyHostStats", { params: { provider, machine_id: machineId } });
        cli.print(s, () => hostTable([s]));
      }),
    );
}

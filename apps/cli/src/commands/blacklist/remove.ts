import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerBlacklistRemove(blacklist: Command, cli: CliRuntime): void {
  blacklist
    .command("remove")
    .description("take a host off the blacklist")
    .argument("<provider>")
    .argument("<machine_id>")
    .action(
      cli.action(async (provider: string, machineId: string) => {
        const result = await (
          await cli.client()
        ).call("removeBlacklist", { params: { provider, machine_id: machineId } });
        cli.print(result, () => result.message);
      }),
    );
}

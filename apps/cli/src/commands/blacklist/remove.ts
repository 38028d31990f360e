import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerBlacklistRemove(blacklist: Command, cli: CliRuntime): void {
  blacklist
    .command("remove")
    .description("take a host off your blacklist (your entries are removed; an automatic entry is hidden for you only)")
    .argument("<provider>", "vast.ai (or vast)")
    .argument("<machine_id>")
    .option("--everyone", "operator only: end the host's automatic entries for every user")
    .action(
      cli.action(async (provider: string, machineId: string, o: { everyone?: boolean }) => {
        const result = await (
          await cli.client()
        ).call("removeBlacklist", {
          params: { provider, machine_id: machineId },
          query: { scope: o.everyone ? "everyone" : "mine" },
        });
        cli.print(result, () => result.message);
      }),
    );
}

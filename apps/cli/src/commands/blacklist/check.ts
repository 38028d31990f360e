import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerBlacklistCheck(blacklist: Command, cli: CliRuntime): void {
  blacklist
    .command("check")
    .description("is this host blacklisted for you?")
    .argument("<provider>", "vast.ai (or vast)")
    .argument("<machine_id>")
    .action(
      cli.action(async (provider: string, machineId: string) => {
        const result = await (
          await cli.client()
        ).call("checkBlacklist", { params: { provider, machine_id: machineId } });
        cli.print(result, () =>
          result.info
            ? `${result.info.provider}/${machineId} is blacklisted: ${result.info.reason} (until ${result.info.expires_at ?? "forever"})`
            : `${provider}/${machineId} is not blacklisted.`,
        );
      }),
    );
}

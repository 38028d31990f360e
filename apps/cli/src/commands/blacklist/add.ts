import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerBlacklistAdd(blacklist: Command, cli: CliRuntime): void {
  blacklist
    .command("add")
    .description("blacklist a host for yourself (permanent unless --hours)")
    .argument("<provider>", "vast.ai (or vast)")
    .argument("<machine_id>", "the host's machine id (see `dumont instance offers`)")
    .argument("<reason>")
    .option("--hours <n>", "expire after this many hours", (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected hours > 0, got ${v}`);
      return n;
    })
    .action(
      cli.action(async (provider: string, machineId: string, reason: string, o: { hours?: number }) => {
        const entry = await (
          await cli.client()
        ).call("addBlacklist", {
          body: { provider, machine_id: machineId, reason, duration_hours: o.hours },
        });
        cli.print(
          entry,
          () =>
            `Blacklisted ${entry.provider}/${entry.machine_id} ${entry.expires_at ? `until ${entry.expires_at}` : "permanently"}.`,
        );
      }),
    );
}

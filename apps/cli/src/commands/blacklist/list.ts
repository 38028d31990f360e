import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { entryTable } from "./entry-table";

export function registerBlacklistList(blacklist: Command, cli: CliRuntime): void {
  blacklist
    .command("list")
    .description("blacklisted hosts (automatic ones and yours)")
    .option("--include-expired", "also expired and removed entries")
    .option("--provider <provider>", "vast.ai (or vast)")
    .action(
      cli.action(async (o: { includeExpired?: boolean; provider?: string }) => {
        const { entries } = await (
          await cli.client()
        ).call("listBlacklist", {
          query: { include_expired: Boolean(o.includeExpired), provider: o.provider },
        });
        cli.print(entries, () => entryTable(entries));
      }),
    );
}

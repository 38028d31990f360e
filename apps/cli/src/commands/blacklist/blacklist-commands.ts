import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";

interface EntryLike {
  provider: string;
  machine_id: string;
  blacklist_type: string;
  reason: string;
  blacklisted_at: string;
  expires_at: string | null;
  is_active: boolean;
}

function entryTable(entries: EntryLike[]): string {
  if (entries.length === 0) return "The blacklist is empty.";
  return formatTable(
    ["provider", "host", "type", "reason", "since", "until", "active"],
    entries.map((e) => [
      e.provider,
      e.machine_id,
      e.blacklist_type,
      e.reason,
      e.blacklisted_at,
      e.expires_at ?? "permanent",
      e.is_active ? "yes" : "no",
    ]),
  );
}

/** `dumont blacklist list|add|remove|check`: hosts the wizard and offers leave out. */
export function registerBlacklistCommands(blacklist: Command, cli: CliRuntime): void {
  blacklist
    .command("list")
    .description("blacklisted hosts (automatic ones and yours)")
    .option("--include-expired", "also expired and removed entries")
    .option("--provider <provider>")
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
  blacklist
    .command("add")
    .description("blacklist a host for yourself (permanent unless --hours)")
    .argument("<provider>", "e.g. vast.ai")
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
            `Blacklisted ${provider}/${machineId} ${entry.expires_at ? `until ${entry.expires_at}` : "permanently"}.`,
        );
      }),
    );
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
  blacklist
    .command("check")
    .description("is this host blacklisted for you?")
    .argument("<provider>")
    .argument("<machine_id>")
    .action(
      cli.action(async (provider: string, machineId: string) => {
        const result = await (
          await cli.client()
        ).call("checkBlacklist", { params: { provider, machine_id: machineId } });
        cli.print(result, () =>
          result.info
            ? `${provider}/${machineId} is blacklisted: ${result.info.reason} (until ${result.info.expires_at ?? "forever"})`
            : `${provider}/${machineId} is not blacklisted.`,
        );
      }),
    );
}

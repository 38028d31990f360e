import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";

export function registerApiKeyList(apiKey: Command, cli: CliRuntime): void {
  apiKey
    .command("list")
    .description("list your API keys")
    .action(
      cli.action(async () => {
        const { api_keys: keys } = await (await cli.client()).call("listApiKeys", {});
        cli.print(keys, () =>
          keys.length === 0
            ? "No API keys. Create one with `dumont auth api-key create <name>`."
            : formatTable(
                ["id", "name", "prefix", "created", "expires", "last used", "state"],
                keys.map((k) => [
                  k.id,
                  k.name,
                  `${k.prefix}…`,
                  k.created_at,
                  k.expires_at ?? "never",
                  k.last_used_at ?? "never",
                  k.revoked_at ? "revoked" : "active",
                ]),
              ),
        );
      }),
    );
}

import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerApiKeyCreate(apiKey: Command, cli: CliRuntime): void {
  apiKey
    .command("create")
    .description("create an API key for scripts (printed once; use it as DUMONT_TOKEN)")
    .argument("<name>", "what the key is for")
    .option("--expires-in-days <days>", "expiry; default never", (v) => {
      const days = Number(v);
      if (!Number.isInteger(days) || days < 1) throw new InvalidArgumentError("expected a whole number of days ≥ 1");
      return days;
    })
    .action(
      cli.action(async (name: string, options: { expiresInDays?: number }) => {
        const client = await cli.client();
        const key = await client.call("createApiKey", { body: { name, expires_in_days: options.expiresInDays } });
        cli.print(key, () =>
          [
            `Created API key ${key.id} (${key.name}), expires ${key.expires_at ?? "never"}.`,
            "",
            `  ${key.key}`,
            "",
            "Store it now: it is not shown again. Use it with DUMONT_TOKEN=<key> dumont …",
          ].join("\n"),
        );
      }),
    );
}

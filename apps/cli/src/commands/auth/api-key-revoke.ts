import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerApiKeyRevoke(apiKey: Command, cli: CliRuntime): void {
  apiKey
    .command("revoke")
    .description("revoke an API key; scripts using it stop working at once")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const result = await (await cli.client()).call("revokeApiKey", { params: { id } });
        cli.print(result, () => `Revoked API key ${id}`);
      }),
    );
}

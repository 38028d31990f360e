import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields } from "../../output";

export function registerSettingsShow(settings: Command, cli: CliRuntime): void {
  settings
    .command("show")
    .description("show your settings (the Vast.ai key only as its last 4 characters, GCP credentials by their account)")
    .action(
      cli.action(async () => {
        const s = await (await cli.client()).call("getSettings", {});
        cli.print(s, () =>
          formatFields({
            "vast.ai key": s.vast_api_key.configured ? `set (${s.vast_api_key.hint ?? ""})` : "not set",
            "gcp credentials": s.gcp_credentials.configured ? `set (${s.gcp_credentials.hint ?? ""})` : "not set",
            preferences: JSON.stringify(s.settings),
          }),
        );
      }),
    );
}

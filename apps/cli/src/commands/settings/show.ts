import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields } from "../../output";

export function registerSettingsShow(settings: Command, cli: CliRuntime): void {
  settings
    .command("show")
    .description("show your settings (the Vast.ai key only as its last 4 characters)")
    .action(
      cli.action(async () => {
        const s = await (await cli.client()).call("getSettings", {});
        cli.print(s, () =>
          formatFields({
            "vast.ai key": s.vast_api_key.configured ? `set (${s.vast_api_key.hint ?? ""})` : "not set",
            preferences: JSON.stringify(s.settings),
          }),
        );
      }),
    );
}

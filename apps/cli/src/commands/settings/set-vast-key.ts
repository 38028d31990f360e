import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";

export function registerSettingsSetVastKey(settings: Command, cli: CliRuntime): void {
  settings
    .command("set-vast-key")
    .description("store your Vast.ai API key, encrypted on the server (prompts when omitted; --clear removes it)")
    .argument("[key]")
    .option("--clear", "remove the stored key")
    .action(
      cli.action(async (key: string | undefined, options: { clear?: boolean }) => {
        let value: string | null;
        if (options.clear) value = null;
        else if (key !== undefined) value = key;
        else {
          const { promptSecret } = await import("../../prompt");
          value = (await promptSecret("Vast.ai API key: ")).trim();
          if (!value) throw new CliError("no key given", "Paste the key from https://cloud.vast.ai/account/.");
        }
        const s = await (await cli.client()).call("updateSettings", { body: { vast_api_key: value } });
        cli.print(s, () =>
          s.vast_api_key.configured ? `Vast.ai key stored (${s.vast_api_key.hint ?? ""})` : "Vast.ai key removed",
        );
      }),
    );
}

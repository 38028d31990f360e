import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";

/** Largest service-account file read: real ones are about 2.3 KB. */
const MAX_FILE_BYTES = 64 * 1024;

export function registerSettingsSetGcpCredentials(settings: Command, cli: CliRuntime): void {
  settings
    .command("set-gcp-credentials")
    .description(
      "store a GCP service-account JSON, encrypted on the server: your CPU standbys are then rented in your own project (--clear removes it)",
    )
    .argument("[file]", "the service account's JSON key file")
    .option("--clear", "remove the stored credentials (new standbys go to the server's project)")
    .action(
      cli.action(async (file: string | undefined, options: { clear?: boolean }) => {
        let value: string | null;
        if (options.clear) value = null;
        else if (file === undefined) {
          throw new CliError(
            "no file given",
            "Pass the JSON key file: `dumont settings set-gcp-credentials key.json`.",
            "USAGE",
          );
        } else {
          let text: string;
          try {
            text = readFileSync(file, "utf8");
          } catch (error) {
            throw new CliError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
          }
          if (Buffer.byteLength(text) > MAX_FILE_BYTES)
            throw new CliError(`${file} is larger than a service-account key`);
          value = text;
        }
        const s = await (await cli.client()).call("updateSettings", { body: { gcp_credentials: value } });
        cli.print(s, () =>
          s.gcp_credentials.configured
            ? `GCP credentials stored (${s.gcp_credentials.hint ?? ""}); new standbys are rented in that project`
            : "GCP credentials removed; new standbys go to the server's project",
        );
      }),
    );
}

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";

export function registerSshKeyAdd(sshKey: Command, cli: CliRuntime): void {
  sshKey
    .command("add")
    .description("register a public key (e.g. ~/.ssh/id_ed25519.pub) that new machines accept for root")
    .argument("<file>")
    .option("--name <name>", "default: the file name")
    .action(
      cli.action(async (file: string, o: { name?: string }) => {
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch (error) {
          throw new CliError(`cannot read ${file}: ${(error as Error).message}`, "Pass the path of a .pub file.");
        }
        if (text.includes("PRIVATE KEY")) {
          throw new CliError(
            `${file} is a private key`,
            "Pass the public half (the .pub file); never share the private key.",
          );
        }
        const key = await (
          await cli.client()
        ).call("addSshKey", {
          body: { name: o.name ?? basename(file), public_key: text.trim() },
        });
        cli.print(key, () => `Added SSH key ${key.id} (${key.fingerprint}). New machines accept it for root.`);
      }),
    );
}

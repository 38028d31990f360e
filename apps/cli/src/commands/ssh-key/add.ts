import { basename } from "node:path";
import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { readPublicKeyFile } from "../../ssh/local-keys";

export function registerSshKeyAdd(sshKey: Command, cli: CliRuntime): void {
  sshKey
    .command("add")
    .description(
      "register a public key (e.g. ~/.ssh/id_ed25519.pub): your machines accept it for root, running ones too",
    )
    .argument("<file>")
    .option("--name <name>", "default: the file name")
    .action(
      cli.action(async (file: string, o: { name?: string }) => {
        const text = readPublicKeyFile(file);
        const key = await (
          await cli.client()
        ).call("addSshKey", {
          body: { name: o.name ?? basename(file), public_key: text },
        });
        cli.print(key, () => {
          const { updated, not_updated: missed } = key.machines;
          const lines = [`Added SSH key ${key.id} (${key.fingerprint}). New machines accept it for root.`];
          if (updated.length > 0) lines.push(`Attached to your running machines too: ${updated.join(", ")}.`);
          for (const m of missed) lines.push(`Not attached to ${m.instance_id}: ${m.reason}`);
          return lines.join("\n");
        });
      }),
    );
}

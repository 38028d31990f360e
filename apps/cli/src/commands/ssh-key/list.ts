import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";

export function registerSshKeyList(sshKey: Command, cli: CliRuntime): void {
  sshKey
    .command("list")
    .description("your registered public keys")
    .action(
      cli.action(async () => {
        const { ssh_keys: keys } = await (await cli.client()).call("listSshKeys", {});
        cli.print(keys, () =>
          keys.length === 0
            ? "No SSH keys. Add one with `dumont ssh-key add ~/.ssh/id_ed25519.pub`."
            : formatTable(
                ["id", "name", "fingerprint", "added"],
                keys.map((k) => [k.id, k.name, k.fingerprint, k.created_at]),
              ),
        );
      }),
    );
}

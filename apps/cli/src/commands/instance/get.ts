import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { withSshKey } from "../../ssh/printed-ssh-command";
import { accountSshKeys } from "../../ssh/ssh-key-check";
import { instanceDetails } from "./instance-view";

export function registerInstanceGet(instance: Command, cli: CliRuntime): void {
  instance
    .command("get")
    .description("one instance, with its ssh command (and the key it needs) once it runs")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const client = await cli.client();
        const found = await client.call("getInstance", { params: { id } });
        // The keys only matter for the human line that names the key the command needs.
        const keys = found.ssh_command && !cli.options.json ? await accountSshKeys(client) : [];
        cli.print(found, () => withSshKey(found, keys, instanceDetails));
      }),
    );
}

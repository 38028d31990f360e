import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerSshKeyRemove(sshKey: Command, cli: CliRuntime): void {
  sshKey
    .command("remove")
    .description("remove a public key (detached from your running machines too)")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const result = await (await cli.client()).call("removeSshKey", { params: { id } });
        cli.print(result, () => result.message);
      }),
    );
}

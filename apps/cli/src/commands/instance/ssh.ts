import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { announceLanding, currentEndpoint, identityFor, runSystemTool, sshOptions } from "../../ssh/machine-ssh";

export function registerInstanceSsh(instance: Command, cli: CliRuntime): void {
  instance
    .command("ssh")
    .description(
      "log in with the system's ssh (follows the machine serving the workspace: its GPU, or its CPU standby after a failover; host keys kept in the dumont config directory)",
    )
    .argument("<id>")
    .argument("[command...]", "run this instead of a shell (after --); exits with its exit code")
    .option("-i, --identity <file>", "private key (default: the one in ~/.ssh whose public half is on your account)")
    .action(
      cli.action(async (id: string, command: string[], o: { identity?: string }) => {
        const client = await cli.client();
        const endpoint = await currentEndpoint(client, id);
        const identity = await identityFor(client, o.identity);
        announceLanding(endpoint);
        const code = await runSystemTool("ssh", [
          ...sshOptions(endpoint, identity),
          "-p",
          String(endpoint.port),
          `root@${endpoint.host}`,
          ...(command.length > 0 ? ["--", ...command] : []),
        ]);
        process.exit(code);
      }),
    );
}

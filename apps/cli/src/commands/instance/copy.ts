import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import {
  announceLanding,
  copyEnds,
  currentEndpoint,
  identityFor,
  rsyncShell,
  runSystemTool,
  sshOptions,
} from "../../ssh/machine-ssh";

const ENDS = "a remote side is written :path (relative paths are under /workspace)";

/** `dumont instance scp|rsync <id> <src> <dst>`: the system tool with `instance ssh`'s options. */
export function registerInstanceCopy(instance: Command, cli: CliRuntime): void {
  instance
    .command("scp")
    .description(`copy with the system's scp; ${ENDS}`)
    .argument("<id>")
    .argument("<source>", "local path or :remote-path")
    .argument("<destination>", "local path or :remote-path")
    .option("-r, --recursive", "copy directories")
    .option("-i, --identity <file>", "private key (default: the one in ~/.ssh whose public half is on your account)")
    .action(
      cli.action(
        async (id: string, source: string, destination: string, o: { recursive?: boolean; identity?: string }) => {
          const client = await cli.client();
          const endpoint = await currentEndpoint(client, id);
          const [from, to] = copyEnds(endpoint, source, destination);
          const identity = await identityFor(client, o.identity);
          announceLanding(endpoint);
          const code = await runSystemTool("scp", [
            ...sshOptions(endpoint, identity),
            "-P",
            String(endpoint.port),
            ...(o.recursive ? ["-r"] : []),
            "--",
            from,
            to,
          ]);
          process.exit(code);
        },
      ),
    );

  instance
    .command("rsync")
    .description(`copy with the system's rsync (-a, resumable); ${ENDS}`)
    .usage("[options] <id> <source> <destination> [-- rsync options…]")
    .argument("<id>")
    .argument(
      "<source_destination_options...>",
      "local path or :remote-path (a trailing / copies the contents), then the other side, then any rsync options after --",
    )
    .option("-i, --identity <file>", "private key (default: the one in ~/.ssh whose public half is on your account)")
    .action(
      cli.action(async (id: string, rest: string[], o: { identity?: string }) => {
        const [source, destination, ...extra] = rest;
        if (source === undefined || destination === undefined) {
          throw new CliError(
            "rsync needs a source and a destination",
            `e.g. dumont instance rsync ${id} ./data/ :data/`,
            "USAGE",
          );
        }
        const client = await cli.client();
        const endpoint = await currentEndpoint(client, id);
        const [from, to] = copyEnds(endpoint, source, destination);
        const identity = await identityFor(client, o.identity);
        announceLanding(endpoint);
        const shell = rsyncShell([...sshOptions(endpoint, identity), "-p", String(endpoint.port)]);
        const code = await runSystemTool("rsync", ["-a", "-e", shell, ...extra, "--", from, to]);
        process.exit(code);
      }),
    );
}

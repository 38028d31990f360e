import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import { confirm } from "../../prompt";
import { instanceDetails } from "./instance-view";
import { WAIT_TARGET, seconds, waitForInstance } from "./instance-wait";

const ACTIONS = {
  pause: { route: "pauseInstance", description: "stop the machine, keeping its disk", done: "Pausing" },
  resume: { route: "resumeInstance", description: "start a paused machine again", done: "Resuming" },
  delete: {
    route: "deleteInstance",
    description: "destroy the machine and its disk (confirmed with the marketplace); asks first unless --yes",
    done: "Destroying",
  },
} as const;

/**
 * `dumont instance pause|resume|delete <id> [--wait]`: the same shape, one command each.
 * `delete` destroys the disk too, so it asks on a terminal; anywhere else (a script, CI) it needs
 * --yes, and without it refuses as a usage error (exit 2) rather than guessing.
 */
export function registerInstanceLifecycle(instance: Command, cli: CliRuntime, action: keyof typeof ACTIONS): void {
  const spec = ACTIONS[action];
  const command = instance
    .command(action)
    .description(spec.description)
    .argument("<id>")
    .option("--wait", `wait until the machine is ${WAIT_TARGET[action]}, showing progress`)
    .option("--timeout <s>", "give up waiting after this many seconds (with --wait)", seconds, 900);
  if (action === "delete") {
    command
      .option("-y, --yes", "destroy without asking")
      .option("--keep-standby", "keep its CPU standby, which then serves the workspace (as of its last sync)");
  }
  command.action(
    cli.action(async (id: string, o: { wait?: boolean; timeout: number; yes?: boolean; keepStandby?: boolean }) => {
      if (action === "delete" && !o.yes) {
        if (!process.stdin.isTTY || cli.options.json)
          throw new CliError(
            `refusing to destroy ${id} without confirmation`,
            `Add --yes to destroy it (and its disk) from a script: dumont instance delete ${id} --yes`,
            "USAGE",
          );
        const question = o.keepStandby
          ? `Destroy ${id} and its disk? Its CPU standby keeps the workspace as of its last sync.`
          : `Destroy ${id} and its disk? This cannot be undone.`;
        if (!(await confirm(question))) {
          process.stderr.write("Not destroyed.\n");
          process.exitCode = 1;
          return;
        }
      }
      const client = await cli.client();
      const updated =
        action === "delete"
          ? await client.call("deleteInstance", {
              params: { id },
              query: { keep_standby: o.keepStandby ? true : undefined },
            })
          : await client.call(spec.route, { params: { id } });
      const kept = o.keepStandby
        ? `\nIts CPU standby stays and serves the workspace: dumont standby get ${id} (dumont instance ssh ${id} lands there).`
        : "";
      if (!o.wait) {
        cli.print(updated, () => `${spec.done} ${id} (now ${updated.status}).${kept}\n\n${instanceDetails(updated)}`);
        return;
      }
      const target = WAIT_TARGET[action];
      const { instance: final, reached } = await waitForInstance(cli, id, target, o.timeout);
      cli.print(final, () => `${id} is ${final.status}.${kept}\n\n${instanceDetails(final)}`);
      if (!reached) process.exitCode = 1;
    }),
  );
}

import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { seconds } from "../instance/instance-wait";
import { associationDetails, type AssociationLike } from "./standby-view";
import { waitForStandby } from "./standby-wait";

/** Each action, what it does, and the stable status `--wait` follows it to. */
const ACTIONS = {
  failover: {
    description: "planned failover: a final sync, then the CPU standby serves the workspace (the GPU is paused)",
    target: "failover_active",
    doing: "Failing over",
  },
  recover: {
    description: "get a GPU back (the paused one resumed, or a new one raced) and restore the workspace onto it",
    target: "syncing",
    doing: "Recovering",
  },
  failback: {
    description: "back to the original GPU: resume it and restore the standby's workspace onto it",
    target: "syncing",
    doing: "Failing back",
  },
  disable: { description: "stop syncing (the standby machine is kept)", target: "disabled", doing: "Disabling" },
  enable: { description: "sync again", target: "syncing", doing: "Enabling" },
} as const;

export type StandbyActionName = keyof typeof ACTIONS;

/**
 * `dumont standby failover|recover|failback|disable|enable <id|instance> [--wait]`: the same
 * shape, one command each. `--wait` follows the standby to the action's stable status and exits 1
 * if it ends anywhere else (or the wait times out).
 */
export function registerStandbyAction(standby: Command, cli: CliRuntime, action: StandbyActionName): void {
  const spec = ACTIONS[action];
  standby
    .command(action)
    .description(spec.description)
    .argument("<id>", "the standby's id, or its instance's")
    .option("--wait", `wait until the standby is ${spec.target}, showing progress`)
    .option("--timeout <s>", "give up waiting after this many seconds (with --wait)", seconds, 900)
    .action(
      cli.action(async (id: string, o: { wait?: boolean; timeout: number }) => {
        const client = await cli.client();
        const asked: AssociationLike = await client.call("standbyAction", { params: { id }, body: { action } });
        if (!o.wait) {
          cli.print(
            asked,
            () =>
              `${spec.doing} ${asked.id} (${asked.status}, ${action} requested). Follow it with: dumont standby get ${asked.id}\n\n${associationDetails(asked)}`,
          );
          return;
        }
        const { association, reached } = await waitForStandby(cli, asked.id, spec.target, o.timeout);
        cli.print(
          association,
          () => `${association.id} is ${association.status}.\n\n${associationDetails(association)}`,
        );
        if (!reached) process.exitCode = 1;
      }),
    );
}

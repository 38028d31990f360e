import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import { confirm } from "../../prompt";
import { seconds } from "../instance/instance-wait";
import { associationDetails, type AssociationLike } from "./standby-view";
import { waitForStandby } from "./standby-wait";

/**
 * `dumont standby delete <id> [--yes] [--wait]`: destroys the CPU machine (the GPU instance is
 * left alone). After a failover the standby holds the only live copy of the workspace, so like
 * `instance delete` it asks on a terminal and needs --yes anywhere else (exit 2 without).
 */
export function registerStandbyDelete(standby: Command, cli: CliRuntime): void {
  standby
    .command("delete")
    .description("destroy the standby machine (the GPU instance is left alone); asks first unless --yes")
    .argument("<id>", "the standby's id, or its instance's")
    .option("-y, --yes", "destroy without asking")
    .option("--wait", "wait until the provider confirms it gone, showing progress")
    .option("--timeout <s>", "give up waiting after this many seconds (with --wait)", seconds, 900)
    .action(
      cli.action(async (id: string, o: { yes?: boolean; wait?: boolean; timeout: number }) => {
        if (!o.yes) {
          if (!process.stdin.isTTY || cli.options.json)
            throw new CliError(
              `refusing to destroy standby ${id} without confirmation`,
              `Add --yes to destroy it from a script: dumont standby delete ${id} --yes`,
              "USAGE",
            );
          if (!(await confirm(`Destroy standby ${id} and its disk? After a failover it holds your workspace.`))) {
            process.stderr.write("Not destroyed.\n");
            process.exitCode = 1;
            return;
          }
        }
        const client = await cli.client();
        const deleted: AssociationLike = await client.call("deleteStandbyAssociation", { params: { id } });
        if (!o.wait) {
          cli.print(
            deleted,
            () => `Destroying standby ${deleted.id} (now ${deleted.status}).\n\n${associationDetails(deleted)}`,
          );
          return;
        }
        const { association, reached } = await waitForStandby(cli, deleted.id, "destroyed", o.timeout);
        cli.print(
          association,
          () => `${association.id} is ${association.status}.\n\n${associationDetails(association)}`,
        );
        if (!reached) process.exitCode = 1;
      }),
    );
}

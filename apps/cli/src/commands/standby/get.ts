import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { associationDetails, type AssociationLike } from "./standby-view";

export function registerStandbyGet(standby: Command, cli: CliRuntime): void {
  standby
    .command("get")
    .description("one standby: state, active machine, last sync, cost")
    .argument("<id>", "the standby's id, or its instance's")
    .action(
      cli.action(async (id: string) => {
        const found: AssociationLike = await (await cli.client()).call("getStandbyAssociation", { params: { id } });
        cli.print(found, () => associationDetails(found));
      }),
    );
}

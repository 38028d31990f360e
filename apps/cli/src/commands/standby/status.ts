import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { associationTable, type AssociationLike } from "./standby-view";
import { configDetails, type StandbyConfigLike } from "./configure";

/** `dumont standby status`: your settings, then every live standby with its active machine. */
export function registerStandbyStatus(standby: Command, cli: CliRuntime): void {
  standby
    .command("status")
    .description("your standby settings and every live standby (state, active machine, last sync, cost)")
    .action(
      cli.action(async () => {
        const status = await (await cli.client()).call("getStandbyStatus", {});
        const config: StandbyConfigLike = status.config;
        const associations: AssociationLike[] = status.associations;
        cli.print(status, () => {
          const failing =
            status.failovers_in_progress > 0 ? `, ${status.failovers_in_progress} failed over or recovering` : "";
          return [
            configDetails(config),
            "",
            `${status.active_associations} live standby${status.active_associations === 1 ? "" : "s"}${failing}.`,
            associationTable(associations, "Give an instance one with `dumont standby provision <instance>`."),
          ].join("\n");
        });
      }),
    );
}

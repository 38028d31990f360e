import type { Command } from "commander";
import type { ApiRoutes, RouteInput } from "@dumont/core";
import type { CliRuntime } from "../../cli-runtime";
import { seconds } from "../instance/instance-wait";
import { associationDetails, type AssociationLike } from "./standby-view";
import { parseStandbySettings } from "./standby-settings";
import { waitForStandby } from "./standby-wait";

type ProvisionBody = RouteInput<ApiRoutes["provisionStandby"]>["body"];

const KEYS = ["zone", "machine_type", "disk_gb", "spot", "sync_interval"] as const;

/** `dumont standby provision <instance> [key=value…] [--wait]`: your settings, overridden per key. */
export function registerStandbyProvision(standby: Command, cli: CliRuntime): void {
  standby
    .command("provision")
    .description("give a GPU instance a CPU standby kept in sync (key=values override your standby settings)")
    .argument("<instance>", "the GPU instance to protect")
    .argument("[settings...]", `${KEYS.map((k) => `${k}=…`).join(" ")}`)
    .option("--wait", "wait until it syncs, showing progress (exit 1 if it fails)")
    .option("--timeout <s>", "give up waiting after this many seconds (with --wait)", seconds, 900)
    .action(
      cli.action(async (instanceId: string, settings: string[], o: { wait?: boolean; timeout: number }) => {
        const body = { ...parseStandbySettings(settings, KEYS), instance_id: instanceId } as ProvisionBody;
        const client = await cli.client();
        const created: AssociationLike = await client.call("provisionStandby", { body });
        if (!o.wait) {
          cli.print(
            created,
            () =>
              `${associationDetails(created)}\n\nProvisioning. Follow it with: dumont standby get ${created.id} (or --wait)`,
          );
          return;
        }
        const { association, reached } = await waitForStandby(cli, created.id, "syncing", o.timeout);
        cli.print(association, () => associationDetails(association));
        if (!reached) process.exitCode = 1;
      }),
    );
}

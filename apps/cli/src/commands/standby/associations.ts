import type { Command } from "commander";
import type { ApiRoutes, RouteInput } from "@dumont/core";
import type { CliRuntime } from "../../cli-runtime";
import { merge, parseKeyValues } from "../../key-values";
import { associationTable, type AssociationLike } from "./standby-view";

type Query = RouteInput<ApiRoutes["listStandbyAssociations"]>["query"];

export function registerStandbyAssociations(standby: Command, cli: CliRuntime): void {
  standby
    .command("associations")
    .alias("list")
    .description("your standbys, newest first (status=syncing|failover_active|destroyed|…)")
    .argument("[filters...]", "status=<status> limit=<n>")
    .option("--status <status>")
    .option("--limit <n>", "at most this many (default 100)")
    .action(
      cli.action(async (filters: string[], o: { status?: string; limit?: string }) => {
        const query = merge(parseKeyValues(filters, { status: "status", limit: "limit" }), {
          status: o.status,
          limit: o.limit,
        }) as Query;
        const result = await (await cli.client()).call("listStandbyAssociations", { query });
        const associations: AssociationLike[] = result.associations;
        cli.print(result, () =>
          associationTable(
            associations,
            "No standbys. Give an instance one with `dumont standby provision <instance>`.",
          ),
        );
      }),
    );
}

import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { merge, parseKeyValues } from "../../key-values";
import { instanceTable } from "./instance-view";

export function registerInstanceList(instance: Command, cli: CliRuntime): void {
  instance
    .command("list")
    .description("your instances (status=running|paused|destroyed|…)")
    .argument("[filters...]", "status=<status>")
    .option("--status <status>")
    .action(
      cli.action(async (filters: string[], o: { status?: string }) => {
        const query = merge(parseKeyValues(filters, { status: "status" }), { status: o.status });
        const result = await (await cli.client()).call("listInstances", { query: query });
        cli.print(result, () => instanceTable(result.instances));
      }),
    );
}

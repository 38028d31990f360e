import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { instanceDetails } from "./instance-view";

export function registerInstanceGet(instance: Command, cli: CliRuntime): void {
  instance
    .command("get")
    .description("one instance, with its ssh command once it runs")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const found = await (await cli.client()).call("getInstance", { params: { id } });
        cli.print(found, () => instanceDetails(found));
      }),
    );
}

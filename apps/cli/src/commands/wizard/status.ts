import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { deploymentSummary, type DeploymentLike } from "./deployment-view";

export function registerWizardStatus(wizard: Command, cli: CliRuntime): void {
  wizard
    .command("status")
    .description("a deployment's race, candidate by candidate")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const d: DeploymentLike = await (await cli.client()).call("getDeployment", { params: { id } });
        cli.print(d, () => deploymentSummary(d));
      }),
    );
}

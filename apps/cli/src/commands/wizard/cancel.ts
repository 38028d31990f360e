import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { deploymentSummary, type DeploymentLike } from "./deployment-view";

export function registerWizardCancel(wizard: Command, cli: CliRuntime): void {
  wizard
    .command("cancel")
    .description("stop a race and destroy every machine it rented")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const d: DeploymentLike = await (await cli.client()).call("cancelDeployment", { params: { id } });
        cli.print(d, () => `Cancelling: every machine of ${id} is being destroyed.\n\n${deploymentSummary(d)}`);
      }),
    );
}

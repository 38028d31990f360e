import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { jobDetails, type JobLike } from "./job-view";

export function registerJobCancel(job: Command, cli: CliRuntime): void {
  job
    .command("cancel")
    .description("cancel at any stage; the machine is destroyed")
    .argument("<job_id>")
    .action(
      cli.action(async (id: string) => {
        const updated: JobLike = await (await cli.client()).call("cancelJob", { params: { id } });
        cli.print(updated, () => `Cancelling ${id}: its machine is being destroyed.\n\n${jobDetails(updated)}`);
      }),
    );
}

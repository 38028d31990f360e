import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { jobDetails, type JobLike } from "./job-view";

export function registerJobStatus(job: Command, cli: CliRuntime): void {
  job
    .command("status")
    .description("one job, with its attempts and cost")
    .argument("<job_id>")
    .action(
      cli.action(async (id: string) => {
        const found: JobLike = await (await cli.client()).call("getJob", { params: { id } });
        cli.print(found, () => jobDetails(found));
      }),
    );
}

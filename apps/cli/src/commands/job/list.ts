import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { jobTable, type JobLike } from "./job-view";

export function registerJobList(job: Command, cli: CliRuntime): void {
  job
    .command("list")
    .description("your jobs")
    .option("--status <status>")
    .action(
      cli.action(async (o: { status?: string }) => {
        const result = await (await cli.client()).call("listJobs", { query: { status: o.status as never } });
        const jobs: JobLike[] = result.jobs;
        cli.print(result, () => jobTable(jobs));
      }),
    );
}

import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { JOB_FINAL, jobDetails, type JobLike } from "./job-view";

/** Exit code follows the job: 0 completed, 1 anything else. */
export function registerJobWait(job: Command, cli: CliRuntime): void {
  job
    .command("wait")
    .description("wait for the job to end, showing progress; exits 0 only if it completed")
    .argument("<job_id>")
    .action(
      cli.action(async (id: string) => {
        const client = await cli.client();
        let last = "";
        let current: JobLike;
        for (;;) {
          current = await client.call("getJob", { params: { id } });
          const line = `${current.status} (attempt ${current.attempt})`;
          if (line !== last && !cli.options.json) process.stderr.write(`${new Date().toISOString()}  ${line}\n`);
          last = line;
          if (JOB_FINAL.includes(current.status)) break;
          await sleep(1000);
        }
        const done = current;
        cli.print(done, () => jobDetails(done));
        if (done.status !== "completed") process.exitCode = 1;
      }),
    );
}

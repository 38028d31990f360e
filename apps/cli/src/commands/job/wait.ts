import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { money } from "../../progress";
import { JOB_FINAL, jobDetails, type JobLike } from "./job-view";

/** The parts of a job a wait shows (the API's Job: its race and its cost so far). */
interface WaitedJob extends JobLike {
  deployment_id: string | null;
}

/**
 * Exit code follows the job: 0 completed, 1 anything else. Progress (stderr): elapsed time, the
 * job's state, the machines its race is trying while it provisions, and its cost so far.
 */
export function registerJobWait(job: Command, cli: CliRuntime): void {
  job
    .command("wait")
    .description("wait for the job to end, showing progress; exits 0 only if it completed")
    .argument("<job_id>")
    .action(
      cli.action(async (id: string) => {
        const client = await cli.client();
        const progress = cli.progress();
        const waker = cli.waker(id);
        const candidates = new Map<string, string>();
        let current: WaitedJob;
        try {
          for (;;) {
            current = await client.call("getJob", { params: { id } });
            let race = "";
            if (current.status === "provisioning" && current.deployment_id) {
              const d = await client.call("getDeployment", { params: { id: current.deployment_id } });
              for (const c of d.candidates) {
                if (candidates.get(c.instance_id) === c.status) continue;
                candidates.set(c.instance_id, c.status);
                progress.note(`  ${c.instance_id}  ${c.gpu_name}  $${c.dph_total.toFixed(3)}/h: ${c.status}`);
              }
              const states = new Map<string, number>();
              for (const c of d.candidates) states.set(c.status, (states.get(c.status) ?? 0) + 1);
              race = [...states].map(([status, n]) => `${n} ${status}`).join(", ");
            }
            const job = current;
            progress.update(`${job.status} ${job.attempt} ${race}`, () => {
              const machines = race ? `, machines: ${race}` : job.instance_id ? ` on ${job.instance_id}` : "";
              return `[${progress.elapsed()}] ${job.status} (attempt ${job.attempt}${machines}), cost so far ${money(job.total_cost)}`;
            });
            if (JOB_FINAL.includes(current.status)) break;
            await waker.wait(1000);
            progress.tick();
          }
        } finally {
          waker.close();
        }
        progress.done();
        const done = current;
        cli.print(done, () => jobDetails(done));
        if (done.status !== "completed") process.exitCode = 1;
      }),
    );
}

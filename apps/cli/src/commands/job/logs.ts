import { setTimeout as sleep } from "node:timers/promises";
import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";

export function registerJobLogs(job: Command, cli: CliRuntime): void {
  job
    .command("logs")
    .description("the job's output (kept after the machine is gone)")
    .argument("<job_id>")
    .option("--tail <n>", "last N lines", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected lines ≥ 1, got ${v}`);
      return n;
    })
    .option("--follow", "keep printing until the job ends")
    .action(
      cli.action(async (id: string, o: { tail?: number; follow?: boolean }) => {
        const client = await cli.client();
        let page = await client.call("jobLogs", { params: { id }, query: { tail: o.tail } });
        if (cli.options.json && !o.follow) return cli.print(page, () => page.logs);
        process.stdout.write(page.logs);
        // The server sends the log a page at a time: read on while there is more, and with
        // --follow, until the job ends.
        while (page.more || (o.follow && !page.finished)) {
          const from = page.next_offset;
          if (!page.more) await sleep(1000);
          page = await client.call("jobLogs", { params: { id }, query: { offset: from } });
          process.stdout.write(page.logs);
          // A server that cannot move on from an offset must not make this loop spin.
          if (page.next_offset <= from && page.more) await sleep(1000);
        }
      }),
    );
}

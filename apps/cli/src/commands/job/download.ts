import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";

export function registerJobDownload(job: Command, cli: CliRuntime): void {
  job
    .command("download")
    .description("download the job's collected outputs")
    .argument("<job_id>")
    .argument("[dir]", "where to put them", ".")
    .action(
      cli.action(async (id: string, dir: string) => {
        const client = await cli.client();
        const { files } = await client.call("jobOutputs", { params: { id } });
        if (files.length === 0)
          throw new CliError(
            `job ${id} has no outputs`,
            "Did the command write under its output paths (default /workspace/output)?",
          );
        const token = process.env.DUMONT_TOKEN || cli.profile().token;
        const root = resolve(dir);
        for (const file of files) {
          const response = await fetch(
            `${cli.options.apiUrl}/api/v1/jobs/${encodeURIComponent(id)}/outputs${file.path.split("/").map(encodeURIComponent).join("/")}`,
            {
              headers: token ? { authorization: `Bearer ${token}` } : {},
            },
          );
          if (!response.ok) throw new CliError(`downloading ${file.path} failed: HTTP ${response.status}`);
          const target = join(root, file.path);
          if (!target.startsWith(root)) throw new CliError(`refusing to write outside ${root}: ${file.path}`);
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, Buffer.from(await response.arrayBuffer()));
          if (!cli.options.json) process.stdout.write(`${file.path}  (${file.size} bytes)\n`);
        }
        if (cli.options.json) cli.print({ directory: root, files }, () => "");
        else process.stdout.write(`${files.length} file(s) in ${root}\n`);
      }),
    );
}

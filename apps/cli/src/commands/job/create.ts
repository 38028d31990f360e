import { InvalidArgumentError, type Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import { jobDetails, type JobLike } from "./job-view";

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got ${value}`);
  return n;
}

function bool(value: string): boolean {
  if (["true", "1", "yes"].includes(value)) return true;
  if (["false", "0", "no"].includes(value)) return false;
  throw new InvalidArgumentError(`expected true or false, got ${value}`);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Flags only one source reads: given with another source they would be ignored, so they are refused. */
const SOURCE_FLAGS = [
  ["gitUrl", "--git-url", "git"],
  ["gitBranch", "--git-branch", "git"],
  ["hfRepo", "--hf-repo", "huggingface"],
  ["hfRevision", "--hf-revision", "huggingface"],
  ["hfToken", "--hf-token", "huggingface"],
] as const;

const SOURCES = ["command", "huggingface", "git"] as const;

interface Flags {
  command?: string;
  source: string;
  hfRepo?: string;
  hfRevision?: string;
  hfToken?: string;
  gitUrl?: string;
  gitBranch?: string;
  gpu?: string;
  useSpot: boolean;
  numGpus?: number;
  disk?: number;
  timeout?: number;
  image?: string;
  setup?: string;
  pip?: string;
  output?: string[];
  env?: string[];
  maxPrice?: string;
  region?: string;
  checkpoint?: string;
  maxRetries?: number;
  at?: string;
}

export function registerJobCreate(job: Command, cli: CliRuntime): void {
  job
    .command("create")
    .description("run a command on a rented GPU, then destroy the machine")
    .argument("<name>")
    .option("--command <cmd>", "what to run (in /workspace, the repo, or the model directory)")
    .option("--source <source>", "command | huggingface | git", "command")
    .option("--hf-repo <repo>", "owner/name on the Hugging Face Hub")
    .option("--hf-revision <rev>")
    .option("--hf-token <token>", "for private repos (or env HF_TOKEN); stored encrypted")
    .option("--git-url <url>")
    .option("--git-branch <branch>")
    .option("--gpu <name>", 'e.g. "RTX 4090"')
    .option("--use-spot <bool>", "interruptible machine, retried elsewhere if lost", bool, false)
    .option("--num-gpus <n>", "", int)
    .option("--disk <gb>", "", int)
    .option("--timeout <minutes>", "", int)
    .option("--image <image>")
    .option("--setup <script>", "shell run before the command")
    .option("--pip <a,b>", "pip packages, comma-separated")
    .option("--output <path>", "collect this path (repeatable; default /workspace/output)", collect)
    .option("--env <K=V>", "environment variable (repeatable)", collect)
    .option("--max-price <usd>", "$/h")
    .option("--region <region>")
    .option("--checkpoint <path>", "synced while running, restored after an interruption")
    .option("--max-retries <n>", "", int)
    .option("--at <time>", "start later (ISO time)")
    .action(
      cli.action(async (name: string, f: Flags) => {
        if (!f.command) throw new CliError("--command is required", 'e.g. --command="python train.py"', "USAGE");
        if (!(SOURCES as readonly string[]).includes(f.source))
          throw new CliError(`--source must be ${SOURCES.join(", ")}; got "${f.source}"`, undefined, "USAGE");
        for (const [key, flag, source] of SOURCE_FLAGS) {
          if (f[key] !== undefined && f.source !== source)
            throw new CliError(
              `${flag} is only for --source=${source} (this job's source is ${f.source})`,
              `Add --source=${source}, or drop ${flag}.`,
              "USAGE",
            );
        }
        const env = Object.fromEntries(
          (f.env ?? []).map((pair) => {
            const eq = pair.indexOf("=");
            if (eq <= 0) throw new CliError(`--env takes KEY=VALUE, got "${pair}"`, undefined, "USAGE");
            return [pair.slice(0, eq), pair.slice(eq + 1)];
          }),
        );
        const at = f.at ? new Date(f.at) : undefined;
        if (at && Number.isNaN(at.getTime()))
          throw new CliError(`--at: not a time: ${f.at ?? ""}`, "Use ISO 8601, e.g. 2026-12-01T03:00:00Z.", "USAGE");
        const created: JobLike = await (
          await cli.client()
        ).call("createJob", {
          body: {
            name,
            command: f.command,
            source: f.source as "command" | "huggingface" | "git",
            hf_repo: f.hfRepo,
            hf_revision: f.hfRevision,
            hf_token: f.hfToken ?? (f.source === "huggingface" ? process.env.HF_TOKEN : undefined),
            git_url: f.gitUrl,
            git_branch: f.gitBranch,
            gpu_type: f.gpu,
            use_spot: f.useSpot,
            num_gpus: f.numGpus,
            disk_size: f.disk,
            timeout_minutes: f.timeout,
            image: f.image,
            setup_script: f.setup,
            pip_packages: f.pip
              ? f.pip
                  .split(",")
                  .map((p) => p.trim())
                  .filter(Boolean)
              : undefined,
            output_paths: f.output,
            env,
            max_price: f.maxPrice === undefined ? undefined : Number(f.maxPrice),
            region: f.region,
            checkpoint_path: f.checkpoint,
            max_retries: f.maxRetries,
            start_at: at?.toISOString(),
          },
        });
        cli.print(
          created,
          () =>
            `${jobDetails(created)}\n\nFollow it: dumont job logs ${created.id} --follow   or   dumont job wait ${created.id}`,
        );
      }),
    );
}

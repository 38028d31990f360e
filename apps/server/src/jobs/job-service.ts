import { DumontError, JOB_MACHINE, isTerminal, notFound, type JobStatus } from "@dumont/core";
import type { ControlledStore, JobRow, JobsRepository } from "@dumont/db";
import type { z } from "zod";
import type { CreateJobBody } from "@dumont/core";
import type { MarketRegistry } from "../market/market-registry";
import type { SecretBox } from "../security/secret-box";
import type { JobController } from "../jobs/job-controller";
import { newId } from "../security/tokens";
import { sealEnv } from "../security/sealed-env";
import { iso, isoOrNull } from "../server-context";
import type { JobCosts } from "./job-cost";

type JobInput = z.output<typeof CreateJobBody>;

/** The most log one response carries; clients read on from `next_offset`. */
const LOG_PAGE_BYTES = 1024 * 1024;

/** Jobs' API side: create, read, cancel, logs and outputs (which outlive the machine). */
export class JobService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      store: ControlledStore;
      markets: MarketRegistry;
      box: SecretBox;
      controller: JobController;
      /** Every machine rented for a job, race losers included, each at its own price. */
      costs: JobCosts;
      /** The log's bound (head + tail), to say so where the middle was dropped. */
      logLimitBytes: number;
      wake: () => void;
      now: () => number;
    },
  ) {}

  async create(userId: string, input: JobInput): Promise<JobRow> {
    const market = await this.deps.markets.kindFor(userId);
    const now = this.deps.now();
    const { hf_token: hfToken, start_at: startAt, env, ...rest } = input;
    // Env values may hold secrets: sealed at rest like the token, opened only to write the machine's env file.
    const spec = { ...rest, env: {}, env_sealed: sealEnv(this.deps.box, env) };
    const row: JobRow = {
      id: newId("job"),
      owner_id: userId,
      status: JOB_MACHINE.initial,
      lease_owner: null,
      lease_expires_at: null,
      next_run_at: now,
      created_at: now,
      updated_at: now,
      name: input.name,
      source: input.source,
      spec: JSON.stringify(spec),
      hf_token_sealed: hfToken ? this.deps.box.seal(hfToken) : null,
      market,
      attempt: 1,
      attempts: "[]",
      deployment_id: null,
      instance_id: null,
      exit_code: null,
      outcome: null,
      error: null,
      start_at: startAt ? Date.parse(startAt) : null,
      started_at: null,
      run_started_at: null,
      completed_at: null,
      log_offset: 0,
      price_per_hour: null,
      gpu_seconds: 0,
      last_checkpoint_at: null,
      provision_started_at: null,
    };
    await this.deps.store.insertCreated("jobs", row, {
      reason: `job ${input.name} (${input.source})`,
      actor: `user:${userId}`,
    });
    this.deps.wake();
    return row;
  }

  async get(userId: string, id: string): Promise<JobRow> {
    const row = await this.deps.jobs.findOwned(userId, id);
    if (!row) throw notFound("job", id);
    return row;
  }

  async cancel(userId: string, id: string): Promise<JobRow> {
    const row = await this.get(userId, id);
    if (row.status === "stopping") return row;
    const updated = await this.deps.store.transitionOrThrow<JobStatus, JobRow>({
      table: "jobs",
      machine: JOB_MACHINE,
      id,
      ownerId: userId,
      to: "stopping",
      reason: "cancelled by user",
      actor: `user:${userId}`,
      patch: { outcome: "cancelled" },
      nextRunInMs: 0,
      now: this.deps.now(),
    });
    this.deps.wake();
    return updated;
  }

  /**
   * A page of the log by byte range: from `offset`, or the last `tail` lines, at most
   * LOG_PAGE_BYTES at a time (read on from `next_offset` while `more`). Never loads the log whole.
   */
  async logs(userId: string, id: string, options: { tail?: number | undefined; offset?: number | undefined }) {
    const row = await this.get(userId, id);
    const log = this.deps.controller.jobLog(id);
    const size = log.size();
    const start =
      options.offset !== undefined
        ? Math.min(options.offset, size)
        : options.tail !== undefined
          ? log.offsetOfLastLines(options.tail, LOG_PAGE_BYTES)
          : 0;
    const slice = log.read(start, LOG_PAGE_BYTES);
    const gap =
      slice.skipped > 0
        ? `\n[dumont] … ${slice.skipped} bytes of log not kept here (the server keeps the first and last ${Math.floor(this.deps.logLimitBytes / 2)} bytes) …\n`
        : "";
    return {
      job_id: id,
      logs: gap + slice.data.toString("utf8"),
      next_offset: slice.nextOffset,
      size,
      more: slice.nextOffset < size,
      finished: isTerminal(JOB_MACHINE, row.status as JobStatus),
    };
  }

  async outputs(userId: string, id: string): Promise<{ path: string; size: number }[]> {
    await this.get(userId, id);
    return this.deps.controller.store(id).listFiles("outputs");
  }

  /**
   * One collected file, opened without following links and checked to lie inside the job's
   * output store; anything else (a link, a path with `..`, a directory) reads as missing.
   */
  async openOutput(userId: string, id: string, path: string): Promise<{ fd: number; size: number }> {
    await this.get(userId, id);
    const opened = this.deps.controller.store(id).openFile("outputs", path);
    if (!opened) throw new DumontError({ code: "NOT_FOUND", message: `job ${id} has no output ${path}` });
    return opened;
  }

  async view(row: JobRow) {
    const cost = await this.deps.costs.of(row);
    const spec = JSON.parse(row.spec) as Omit<JobInput, "hf_token" | "start_at">;
    const running = row.run_started_at === null ? 0 : (this.deps.now() - row.run_started_at) / 1000;
    const gpuHours = ((row.gpu_seconds + running) / 3600) * spec.num_gpus;
    const end = row.completed_at ?? this.deps.now();
    return {
      id: row.id,
      name: row.name,
      status: row.status as JobStatus,
      source: spec.source,
      command: spec.command,
      gpu_type: spec.gpu_type ?? null,
      num_gpus: spec.num_gpus,
      use_spot: spec.use_spot,
      attempt: row.attempt,
      max_retries: spec.max_retries,
      instance_id: row.instance_id,
      deployment_id: row.deployment_id,
      ssh_host: null,
      ssh_port: null,
      // Stored values are ours, but a row written before strict parsing must not break the response.
      exit_code: Number.isInteger(row.exit_code) ? row.exit_code : null,
      error_message: row.error,
      created_at: iso(row.created_at),
      start_at: isoOrNull(row.start_at),
      started_at: isoOrNull(row.started_at),
      completed_at: isoOrNull(row.completed_at),
      duration: row.started_at === null ? "N/A" : formatDuration((end - row.started_at) / 1000),
      gpu_hours: Math.round(gpuHours * 10_000) / 10_000,
      total_cost: cost.total_usd,
      machines: cost.machines,
      simulated: row.market === "embedded",
      price_per_hour: row.price_per_hour,
      output_paths: spec.output_paths,
      attempts: JSON.parse(row.attempts) as { attempt: number; instance_id: string | null; reason: string }[],
    };
  }
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ${s % 60}s`;
}

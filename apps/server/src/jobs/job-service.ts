import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { DumontError, JOB_MACHINE, notFound, type JobStatus } from "@dumont/core";
import type { ControlledStore, EventsRepository, JobRow, JobsRepository } from "@dumont/db";
import type { z } from "zod";
import type { CreateJobBody } from "@dumont/core";
import type { MarketRegistry } from "../market/market-registry";
import type { SecretBox } from "../security/secret-box";
import type { JobController } from "../jobs/job-controller";
import { newId } from "../security/tokens";
import { iso, isoOrNull } from "../server-context";

type JobInput = z.output<typeof CreateJobBody>;

/** Jobs' API side: create, read, cancel, logs and outputs (which outlive the machine). */
export class JobService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      events: EventsRepository;
      store: ControlledStore;
      markets: MarketRegistry;
      box: SecretBox;
      controller: JobController;
      wake: () => void;
      now: () => number;
    },
  ) {}

  async create(userId: string, input: JobInput): Promise<JobRow> {
    const market = await this.deps.markets.kindFor(userId);
    const now = this.deps.now();
    const { hf_token: hfToken, start_at: startAt, ...spec } = input;
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
    };
    await this.deps.jobs.insert(row);
    await this.deps.events.append({
      resource_type: "jobs",
      resource_id: row.id,
      owner_id: userId,
      from_status: null,
      to_status: row.status,
      reason: `job ${input.name} (${input.source})`,
      actor: `user:${userId}`,
      created_at: now,
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

  async logs(userId: string, id: string, options: { tail?: number | undefined; offset?: number | undefined }) {
    const row = await this.get(userId, id);
    const path = this.deps.controller.logPath(id);
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    const bytes = Buffer.byteLength(text, "utf8");
    let logs = text;
    if (options.offset !== undefined) logs = Buffer.from(text, "utf8").subarray(options.offset).toString("utf8");
    if (options.tail !== undefined)
      logs = logs
        .split("\n")
        .slice(-(options.tail + 1))
        .join("\n");
    const finished =
      row.status === "completed" || row.status === "failed" || row.status === "cancelled" || row.status === "timed_out";
    return { job_id: id, logs, next_offset: bytes, finished };
  }

  async outputs(userId: string, id: string): Promise<{ path: string; size: number }[]> {
    await this.get(userId, id);
    const root = this.deps.controller.outputsDir(id);
    if (!existsSync(root)) return [];
    const files: { path: string; size: number }[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile())
          files.push({ path: "/" + relative(root, full).split(sep).join("/"), size: statSync(full).size });
      }
    };
    walk(root);
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** The local file behind an output path, refusing anything outside the job's output store. */
  async outputFile(userId: string, id: string, path: string): Promise<string> {
    await this.get(userId, id);
    const root = resolve(this.deps.controller.outputsDir(id));
    const full = resolve(root, "." + (path.startsWith("/") ? path : `/${path}`));
    if (!full.startsWith(root + sep) || !existsSync(full) || !statSync(full).isFile()) {
      throw new DumontError({ code: "NOT_FOUND", message: `job ${id} has no output ${path}` });
    }
    return full;
  }

  view(row: JobRow) {
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
      exit_code: row.exit_code,
      error_message: row.error,
      created_at: iso(row.created_at),
      start_at: isoOrNull(row.start_at),
      started_at: isoOrNull(row.started_at),
      completed_at: isoOrNull(row.completed_at),
      duration: row.started_at === null ? "N/A" : formatDuration((end - row.started_at) / 1000),
      gpu_hours: Math.round(gpuHours * 10_000) / 10_000,
      total_cost: Math.round(((row.gpu_seconds + running) / 3600) * (row.price_per_hour ?? 0) * 10_000) / 10_000,
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

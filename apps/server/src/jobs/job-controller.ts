import {
  type CreateJobBody,
  DEPLOYMENT_MACHINE,
  INSTANCE_MACHINE,
  JOB_MACHINE,
  assertNever,
  isDumontError,
  isTerminal,
  type DeploymentStatus,
  type InstanceStatus,
  type JobOutcome,
  type JobStatus,
} from "@dumont/core";
import type { DeploymentsRepository, InstanceRow, InstancesRepository, JobRow } from "@dumont/db";
import type { z } from "zod";
import type { Controller, ReconcileContext, ReconcileResult } from "../controllers/controller";
import type { InstanceService } from "../instances/instance-service";
import type { SshKeyService } from "../account/ssh-key-service";
import type { WizardService } from "../wizard/wizard-service";
import type { SecretBox } from "../security/secret-box";
import { SETUP_STEPS, buildJobFiles, type SetupStep } from "./job-script";
import { JobRemote, LOG_CHUNK_BYTES } from "./job-remote";
import { newId } from "../security/tokens";
import { openEnv } from "../security/sealed-env";
import { BoundedLog } from "../transfer/bounded-log";
import { MachineTransfer, TransferLimitExceeded, type TransferLimits } from "../transfer/machine-transfer";
import { ResourceStore } from "../transfer/resource-store";

export type JobSpec = z.output<typeof CreateJobBody>;

export interface JobControllerOptions {
  wizard: WizardService;
  instances: InstanceService;
  instanceRows: InstancesRepository;
  deployments: DeploymentsRepository;
  sshKeys: SshKeyService;
  box: SecretBox;
  /** Logs and outputs live under here (DUMONT_HOME/jobs), readable after the machine is gone. */
  storeDir: string;
  limits: { logBytes: number; outputBytes: number; checkpointBytes: number; entries: number; minFreeBytes: number };
  /** Per attempt: with no machine after this long, the job ends timed_out. */
  provisionTimeoutMs: number;
  pollMs: number;
  checkpointEveryMs: number;
}

type Ctx = ReconcileContext<JobRow, JobStatus>;

const LIVE_INSTANCE: readonly InstanceStatus[] = ["creating", "booting", "running", "pausing", "paused", "resuming"];

/**
 * Drives a job: rent a machine with the wizard race, write its files, start the supervisor, follow
 * its log and exit code, collect outputs, destroy the machine. Completion comes from the
 * command's exit code, never from GPU idleness. A lost spot machine starts a new attempt on
 * another host with the last checkpoint restored.
 */
export class JobController implements Controller<JobRow, JobStatus> {
  readonly table = "jobs" as const;
  readonly machine = JOB_MACHINE;

  constructor(private readonly options: JobControllerOptions) {}

  /** The job's store: its log, outputs and checkpoint, all copied from its machines through `transfer/`. */
  store(jobId: string): ResourceStore {
    return new ResourceStore(this.options.storeDir, jobId);
  }

  jobLog(jobId: string): BoundedLog {
    const half = Math.floor(this.options.limits.logBytes / 2);
    return new BoundedLog(this.store(jobId), "job.log", { headBytes: half, tailBytes: half });
  }

  private transferLimits(kind: "outputs" | "checkpoint"): TransferLimits {
    const { outputBytes, checkpointBytes, entries, minFreeBytes } = this.options.limits;
    return { maxBytes: kind === "outputs" ? outputBytes : checkpointBytes, maxEntries: entries, minFreeBytes };
  }

  async reconcile(row: JobRow, ctx: Ctx): Promise<ReconcileResult> {
    const status = row.status as JobStatus;
    const spec = JSON.parse(row.spec) as JobSpec;
    if (status !== "stopping" && !isTerminal(JOB_MACHINE, status) && this.timedOut(row, spec, ctx)) {
      await this.stop(ctx, "timed_out", `timed out after ${spec.timeout_minutes} min`);
      return { requeueInMs: 0 };
    }
    if (status === "provisioning" && this.provisioningTooLong(row, ctx)) {
      const minutes = Math.round(this.options.provisionTimeoutMs / 6_000) / 10;
      const reason = `no machine was ready within ${minutes} min (attempt ${row.attempt})`;
      await this.stop(ctx, "timed_out", reason, reason);
      return { requeueInMs: 0 };
    }
    switch (status) {
      case "pending":
        return this.provision(row, ctx);
      case "provisioning":
        return this.awaitMachine(row, spec, ctx);
      case "setting_up":
      case "running":
        return this.follow(row, spec, ctx);
      case "collecting":
        return this.collect(row, spec, ctx);
      case "stopping":
        return this.finish(row, ctx);
      case "completed":
      case "failed":
      case "cancelled":
      case "timed_out":
        return { requeueInMs: 0 };
      default:
        return assertNever(status, "job status");
    }
  }

  private timedOut(row: JobRow, spec: JobSpec, ctx: Ctx): boolean {
    return row.started_at !== null && ctx.now() - row.started_at > spec.timeout_minutes * 60_000;
  }

  /** The timeout counts from the command's start; this bounds the wait for a machine before it. */
  private provisioningTooLong(row: JobRow, ctx: Ctx): boolean {
    const since = row.provision_started_at ?? row.start_at ?? row.created_at;
    return ctx.now() - since > this.options.provisionTimeoutMs;
  }

  private async provision(row: JobRow, ctx: Ctx): Promise<ReconcileResult> {
    if (row.start_at !== null && row.start_at > ctx.now())
      return { requeueInMs: Math.min(row.start_at - ctx.now(), 60_000) };
    await ctx.transition("provisioning", `attempt ${row.attempt}: looking for a machine`, {
      provision_started_at: ctx.now(),
    });
    return { requeueInMs: 0 };
  }

  private async awaitMachine(row: JobRow, spec: JobSpec, ctx: Ctx): Promise<ReconcileResult> {
    if (!row.deployment_id) return this.startRace(row, spec, ctx);
    const deployment = await this.options.deployments.findOwned(row.owner_id, row.deployment_id);
    const status = deployment?.status as DeploymentStatus | undefined;
    if (!deployment || !status) return this.stopFailed(ctx, "the deployment disappeared");
    if (!isTerminal(DEPLOYMENT_MACHINE, status)) return { requeueInMs: this.options.pollMs };
    const instance = deployment.winner_instance_id
      ? await this.options.instanceRows.findById(deployment.winner_instance_id)
      : undefined;
    if (status !== "completed" || !instance) {
      // A winner that was lost before setup (a spot machine outbid) is a lost attempt, not the end.
      if (deployment.winner_instance_id)
        return this.machineLost(row, spec, ctx, {
          reason: `the machine was lost before setup: ${deployment.error ?? status}`,
          instanceId: deployment.winner_instance_id,
        });
      return this.stopFailed(ctx, `no machine: ${deployment.error ?? status}`);
    }
    if (instance.status !== "running" || !instance.ssh_host || !instance.ssh_port) {
      return this.machineLost(row, spec, ctx, {
        reason: `the machine ${instance.id} was ${instance.status} before setup`,
        instanceId: instance.id,
      });
    }
    const { remote, transfer } = await this.connect(instance);
    try {
      if (row.attempt > 1 && spec.checkpoint_path) {
        const { pushed } = await transfer.push(this.store(row.id), "checkpoint", spec.checkpoint_path);
        if (pushed)
          this.log(row.id, `[dumont] attempt ${row.attempt}: checkpoint restored to ${spec.checkpoint_path}\n`);
      }
      await remote.upload(
        buildJobFiles({
          source: spec.source,
          command: spec.command,
          hfRepo: spec.hf_repo,
          hfRevision: spec.hf_revision,
          hfToken: row.hf_token_sealed ? this.options.box.open(row.hf_token_sealed) : undefined,
          gitUrl: spec.git_url,
          gitBranch: spec.git_branch,
          setupScript: spec.setup_script,
          pipPackages: spec.pip_packages,
          env: this.envOf(spec),
          numGpus: spec.num_gpus,
        }),
      );
      await remote.start();
    } catch (error) {
      return this.machineLost(row, spec, ctx, {
        reason: `could not start the job on ${instance.id}: ${describe(error)}`,
        instanceId: instance.id,
      });
    }
    this.log(
      row.id,
      `[dumont] attempt ${row.attempt} on ${instance.gpu_name} (${instance.id}, $${instance.price_per_hour.toFixed(3)}/h)\n`,
    );
    await ctx.transition("setting_up", `supervisor started on ${instance.id}`, {
      instance_id: instance.id,
      price_per_hour: instance.price_per_hour,
      started_at: row.started_at ?? ctx.now(),
      run_started_at: ctx.now(),
      log_offset: 0,
      attempts: JSON.stringify([
        ...attemptsOf(row),
        { attempt: row.attempt, instance_id: instance.id, reason: "machine ready" },
      ]),
    });
    return { requeueInMs: this.options.pollMs };
  }

  /** One look at the supervisor: new log bytes, phase, exit code; checkpoints while running. */
  private async follow(row: JobRow, spec: JobSpec, ctx: Ctx): Promise<ReconcileResult> {
    const instance = row.instance_id ? await this.options.instanceRows.findById(row.instance_id) : undefined;
    if (!instance || instance.status !== "running" || !instance.ssh_host || !instance.ssh_port) {
      return this.machineLost(row, spec, ctx, {
        reason: `the machine ${row.instance_id ?? "?"} is ${instance?.status ?? "gone"}`,
      });
    }
    const { remote, transfer } = await this.connect(instance);
    let state;
    try {
      state = await remote.state(row.log_offset);
    } catch (error) {
      // An SSH hiccup is not a lost machine; the instance controller decides that, so look again.
      const now = await this.options.instanceRows.findById(instance.id);
      if (now?.status !== "running") {
        return this.machineLost(row, spec, ctx, { reason: `the machine ${instance.id} is ${now?.status ?? "gone"}` });
      }
      ctx.log.info({ err: error }, "job poll failed; retrying");
      return { requeueInMs: this.options.pollMs };
    }
    if (state.logChunk.length > 0) {
      this.jobLog(row.id).append(state.logChunk);
      await ctx.patch({ log_offset: row.log_offset + state.logChunk.length });
    }
    // More log is waiting: read it all before acting on an exit code (the end of a log matters most).
    if (state.logChunk.length >= LOG_CHUNK_BYTES) return { requeueInMs: 0 };
    if (state.exit && "invalid" in state.exit) {
      await ctx.transition("collecting", state.exit.invalid, { exit_code: null, error: state.exit.invalid });
      return { requeueInMs: 0 };
    }
    if (state.exit) {
      await ctx.transition("collecting", `command exited with code ${state.exit.code}`, { exit_code: state.exit.code });
      return { requeueInMs: 0 };
    }
    if (row.status === "setting_up" && state.phase === "run") {
      await ctx.transition("running", "setup done; command running");
    }
    if (
      spec.checkpoint_path &&
      ctx.now() - (row.last_checkpoint_at ?? row.run_started_at ?? 0) >= this.options.checkpointEveryMs
    ) {
      try {
        await transfer.pull(this.store(row.id), "checkpoint", [spec.checkpoint_path], {
          limits: this.transferLimits("checkpoint"),
          mirror: true,
          timeoutMs: 60_000,
          retries: 1,
          signal: ctx.signal,
        });
        await ctx.patch({ last_checkpoint_at: ctx.now() });
      } catch (error) {
        if (error instanceof TransferLimitExceeded) return this.stopFailed(ctx, `checkpoint ${error.message}`);
        ctx.log.warn({ err: error }, "checkpoint sync failed");
      }
    }
    return { requeueInMs: this.options.pollMs };
  }

  /** Outputs come back (through the transfer module) before the machine is destroyed. */
  private async collect(row: JobRow, spec: JobSpec, ctx: Ctx): Promise<ReconcileResult> {
    const instance = row.instance_id ? await this.options.instanceRows.findById(row.instance_id) : undefined;
    let error: string | null = row.error;
    let setupStep: SetupStep | null = null;
    let inSetup = false;
    if (instance?.ssh_host && instance.ssh_port) {
      const { remote, transfer } = await this.connect(instance);
      try {
        const rest = await remote.state(row.log_offset);
        if (rest.logChunk.length > 0) this.jobLog(row.id).append(rest.logChunk);
        // The supervisor never left setup: the user's command did not run, so say which step failed.
        inSetup = rest.phase === "setup";
        setupStep = rest.setupStep;
      } catch (cause) {
        ctx.log.info({ err: cause }, "could not read the end of the log");
      }
      try {
        const pulled = await transfer.pull(this.store(row.id), "outputs", spec.output_paths, {
          limits: this.transferLimits("outputs"),
          retries: 3,
          signal: ctx.signal,
        });
        if (pulled.removed.length > 0)
          this.log(row.id, `[dumont] not kept (not plain files): ${pulled.removed.slice(0, 20).join(", ")}\n`);
      } catch (cause) {
        error ??= `collecting outputs failed: ${describe(cause)}`;
      }
    } else {
      error ??= "the machine was gone before outputs could be collected";
    }
    const succeeded = row.exit_code === 0 && error === null;
    const exited = inSetup
      ? `setup failed: ${setupStep ? SETUP_STEPS[setupStep] : "a setup step"}, exit code ${row.exit_code ?? "?"}`
      : `command exited with code ${row.exit_code ?? "?"}`;
    const reason = succeeded ? "command succeeded" : (error ?? exited);
    await this.stop(ctx, succeeded ? "completed" : "failed", reason, succeeded ? null : reason);
    return { requeueInMs: 0 };
  }

  /** Destroys the machine (and any race still running) and ends once both are confirmed. */
  private async finish(row: JobRow, ctx: Ctx): Promise<ReconcileResult> {
    if (row.deployment_id) {
      const deployment = await this.options.deployments.findOwned(row.owner_id, row.deployment_id);
      if (deployment && !isTerminal(DEPLOYMENT_MACHINE, deployment.status as DeploymentStatus)) {
        if (["searching", "creating", "waiting", "ready"].includes(deployment.status)) {
          await this.options.wizard.cancel(row.owner_id, deployment.id).catch(() => undefined);
        }
        return { requeueInMs: this.options.pollMs };
      }
    }
    const machines = [row.instance_id, ...(await this.winnerOf(row))].filter((id): id is string => Boolean(id));
    let pending = false;
    for (const id of new Set(machines)) {
      const instance = await this.options.instanceRows.findById(id);
      if (!instance || isTerminal(INSTANCE_MACHINE, instance.status as InstanceStatus)) continue;
      pending = true;
      if (LIVE_INSTANCE.includes(instance.status as InstanceStatus)) {
        await this.options.instances.act(row.owner_id, id, "delete").catch(() => undefined);
      }
    }
    if (pending) return { requeueInMs: this.options.pollMs };
    const outcome = (row.outcome ?? "failed") as JobOutcome;
    const gpuSeconds = row.gpu_seconds + runSeconds(row, ctx.now());
    this.log(row.id, `[dumont] job ${outcome}; machine destroyed\n`);
    await ctx.transition(outcome, `machine destroyed; ${outcome}`, {
      completed_at: ctx.now(),
      gpu_seconds: gpuSeconds,
      run_started_at: null,
    });
    return { requeueInMs: 0 };
  }

  /** A machine lost (mid-run, or before setup): try another host (checkpoint restored) while retries remain. */
  private async machineLost(
    row: JobRow,
    spec: JobSpec,
    ctx: Ctx,
    lost: { reason: string; instanceId?: string | null },
  ): Promise<ReconcileResult> {
    const { reason, instanceId = row.instance_id } = lost;
    if (instanceId) await this.options.instances.act(row.owner_id, instanceId, "delete").catch(() => undefined);
    if (row.attempt > spec.max_retries) {
      return this.stopFailed(ctx, `${reason}; no retries left (${spec.max_retries})`);
    }
    this.log(row.id, `[dumont] attempt ${row.attempt} lost: ${reason}; starting attempt ${row.attempt + 1}\n`);
    const attempts = [...attemptsOf(row), { attempt: row.attempt, instance_id: instanceId, reason }];
    const ok = await ctx.transition("provisioning", `attempt ${row.attempt} lost: ${reason}`, {
      provision_started_at: ctx.now(),
      attempt: row.attempt + 1,
      attempts: JSON.stringify(attempts),
      gpu_seconds: row.gpu_seconds + runSeconds(row, ctx.now()),
      run_started_at: null,
      deployment_id: null,
      instance_id: null,
      log_offset: 0,
    });
    return { requeueInMs: ok ? 0 : this.options.pollMs };
  }

  /**
   * Starts this attempt's wizard race. The deployment id is recorded before the race exists, so a
   * crash in between cannot leave a race (and the machine it wins) that no job knows about.
   */
  private async startRace(row: JobRow, spec: JobSpec, ctx: Ctx): Promise<ReconcileResult> {
    const deploymentId = row.deployment_id ?? newId("dep");
    if (!(await ctx.holdLease()) || !(await ctx.patch({ deployment_id: deploymentId }))) return { requeueInMs: 0 };
    await this.options.wizard.deploy(
      row.owner_id,
      {
        gpu_name: spec.gpu_type,
        num_gpus: spec.num_gpus,
        speed: "any",
        max_price: spec.max_price,
        region: spec.region,
        machine_type: spec.use_spot ? "interruptible" : "on-demand",
        disk_size: spec.disk_size,
        image: spec.image,
        strategy: "race",
        batch_size: 3,
        max_batches: 3,
        batch_timeout_seconds: 90,
      },
      deploymentId,
    );
    return { requeueInMs: this.options.pollMs };
  }

  private async stop(ctx: Ctx, outcome: JobOutcome, reason: string, error: string | null = null): Promise<void> {
    await ctx.transition("stopping", reason, { outcome, ...(error ? { error } : {}) });
  }

  private async stopFailed(ctx: Ctx, error: string): Promise<ReconcileResult> {
    await this.stop(ctx, "failed", error, error);
    return { requeueInMs: 0 };
  }

  private async winnerOf(row: JobRow): Promise<string[]> {
    if (!row.deployment_id) return [];
    const deployment = await this.options.deployments.findOwned(row.owner_id, row.deployment_id);
    return deployment?.winner_instance_id ? [deployment.winner_instance_id] : [];
  }

  /** Both ways of reaching the machine, with the control plane's key for its owner. */
  private async connect(instance: InstanceRow): Promise<{ remote: JobRemote; transfer: MachineTransfer }> {
    const key = await this.options.sshKeys.controlKey(instance.owner_id);
    const endpoint = { host: instance.ssh_host ?? "", port: instance.ssh_port ?? 0, user: "root" };
    return { remote: new JobRemote(endpoint, key.privateKey), transfer: new MachineTransfer(endpoint, key.privateKey) };
  }

  /** The job's env: sealed at rest (like the token), opened only to write the machine's 0600 env file. */
  private envOf(spec: JobSpec): Record<string, string> {
    const sealed = (spec as { env_sealed?: string }).env_sealed;
    return sealed === undefined ? spec.env : openEnv(this.options.box, sealed);
  }

  private log(jobId: string, text: string): void {
    this.jobLog(jobId).append(Buffer.from(text, "utf8"));
  }
}

function attemptsOf(row: JobRow): { attempt: number; instance_id: string | null; reason: string }[] {
  return JSON.parse(row.attempts) as { attempt: number; instance_id: string | null; reason: string }[];
}

function runSeconds(row: JobRow, now: number): number {
  return row.run_started_at === null ? 0 : (now - row.run_started_at) / 1000;
}

function describe(error: unknown): string {
  return isDumontError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
}

import {
  STANDBY_MACHINE,
  assertNever,
  isDumontError,
  untrustedText,
  type DeploymentStatus,
  type StandbyStatus,
} from "@dumont/core";
import type {
  DeploymentsRepository,
  InstanceRow,
  InstancesRepository,
  StandbyAssociationRow,
  StandbyFailoverRow,
  StandbyRepository,
} from "@dumont/db";
import { setTimeout as sleep } from "node:timers/promises";
import { sshExec, type Provider, type SshEndpoint, type StandbyProvider } from "@dumont/providers";
import type { Controller, ReconcileContext, ReconcileResult } from "../controllers/controller";
import type { MarketKind, MarketRegistry } from "../market/market-registry";
import type { SshKeyService } from "../account/ssh-key-service";
import type { InstanceService } from "../instances/instance-service";
import type { WizardService } from "../wizard/wizard-service";
import type { StandbyDrillPoint } from "../config";
import type { SecretBox } from "../security/secret-box";
import { newId } from "../security/tokens";
import {
  installSyncKey,
  readHostKey,
  restoreFromStandby,
  syncToStandby,
  verifyRestore,
  type StandbyLink,
  type SyncResult,
} from "../transfer/standby-sync";
import { mark, readPhases, type FailoverPhases } from "./failover-phases";
import type { StandbyMarketKind, StandbyMarkets } from "./standby-markets";
import { excludesOf, gpuEndpoint, linkOf, standbyEndpoint, standbyLabels } from "./association-link";

export interface StandbyHealthSettings {
  /** A healthy GPU is checked this often (the seed's 10 s). */
  intervalMs: number;
  /** After a failed check, the next one comes this soon. */
  recheckMs: number;
  /** This many failed checks in a row mean the GPU is lost. */
  failures: number;
}

export interface StandbyControllerOptions {
  standby: StandbyRepository;
  standbyMarkets: StandbyMarkets;
  markets: MarketRegistry;
  instances: InstanceService;
  instanceRows: InstancesRepository;
  deployments: DeploymentsRepository;
  wizard: WizardService;
  sshKeys: SshKeyService;
  box: SecretBox;
  installationId: string;
  health: StandbyHealthSettings;
  /** How often to look at a machine that is changing state (a booting standby, a recovery race). */
  pollMs: number;
  /**
   * Drill: SIGKILL this process at that point (DUMONT_DRILL_KILL_IN_STANDBY): `after_switch` right
   * after the failover_active transition, before the lost GPU is deleted; `after_race_started`
   * right after the recovery's race was asked for; `mid_restore` after the workspace was copied
   * back, before it is verified and the GPU made active. Never set in production.
   */
  drillKillAt?: StandbyDrillPoint;
}

type Ctx = ReconcileContext<StandbyAssociationRow, StandbyStatus>;

/** A recovery that failed is tried again after this, doubling, up to the cap. */
const RECOVERY_BACKOFF_MS = 15_000;
const RECOVERY_BACKOFF_CAP_MS = 10 * 60_000;
/** A standby that never comes up is given up (and destroyed) after this. */
const PROVISION_TIMEOUT_MS = 15 * 60_000;
/** A restore that verifies different is redone at most this many times before the recovery fails. */
const RESTORE_PASSES = 3;
const SYNC_TIMEOUT_MS = 30 * 60_000;
const PROBE_TIMEOUT_MS = 5_000;
/** Statuses of the GPU instance that mean the user (or another feature) deleted it. */
const DELETED: readonly string[] = ["destroying", "destroyed"];
/** Market states that say the GPU is gone whatever SSH says. */
const LOST_STATES: readonly string[] = ["outbid", "offline", "gone", "failed"];

/**
 * Drives a standby association through STANDBY_MACHINE. Rules that keep the workspace and money
 * safe: the CPU machine is labelled before it exists and found again by name after a crash; an
 * empty GPU never wipes the standby (the sync refuses); the active machine switches only after the
 * target answers SSH; a recovery's race id is recorded before the race exists; and every ending
 * goes through `destroying`, which waits until the provider confirms the machine is gone.
 */
export class StandbyController implements Controller<StandbyAssociationRow, StandbyStatus> {
  readonly table = "standby_associations" as const;
  readonly machine = STANDBY_MACHINE;

  constructor(private readonly options: StandbyControllerOptions) {}

  async reconcile(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    const status = row.status as StandbyStatus;
    switch (status) {
      case "provisioning":
        return this.provision(row, ctx);
      case "syncing":
        return this.sync(row, ctx);
      case "failover_active":
        return this.serveFromStandby(row, ctx);
      case "recovering":
        return this.recover(row, ctx);
      case "disabled":
        return this.disabled(row, ctx);
      case "destroying":
        return this.destroy(row, ctx);
      case "destroyed":
      case "failed":
        return { requeueInMs: 0 };
      default:
        return assertNever(status, "standby status");
    }
  }

  // ── provisioning ──────────────────────────────────────────────────────────────────────────

  private async provision(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    const provider = await this.standbyProvider(row);
    if (ctx.now() - row.created_at > PROVISION_TIMEOUT_MS) {
      return this.giveUp(ctx, `the standby machine was not ready after ${PROVISION_TIMEOUT_MS / 60_000} minutes`);
    }
    const gpu = await this.options.instanceRows.findById(row.gpu_instance_id);
    if (!gpu || DELETED.includes(gpu.status) || gpu.status === "failed") {
      return this.giveUp(ctx, "the GPU instance was gone before its standby was ready");
    }
    if (!row.vm_host_key) {
      const ready = await this.createAndPin(row, provider, ctx);
      if (ready !== true) return ready;
      return { requeueInMs: 0 };
    }
    if (gpu.status !== "running") return { requeueInMs: this.options.pollMs };
    const link = await this.link(row, gpu);
    if (!link) return { requeueInMs: this.options.pollMs };
    try {
      await installSyncKey(link);
      await ctx.patch({ sync_key_installed_on: gpu.id });
      const result = await syncToStandby(link, {
        excludes: excludesOf(row),
        standbyHasFiles: false,
        timeoutMs: SYNC_TIMEOUT_MS,
        signal: ctx.signal,
      });
      await this.recordSync(row, "gpu_to_cpu", result, ctx);
      await ctx.transition("syncing", `standby ready; first sync sent ${result.filesTransferred} files`, {
        ...this.syncedColumns(row, result, ctx.now()),
        sync_key_installed_on: gpu.id,
        active_since: ctx.now(),
      });
      return { requeueInMs: this.nextDue({ ...row, last_sync_at: ctx.now(), last_health_at: ctx.now() }, ctx) };
    } catch (error) {
      await ctx.patch({ last_sync_error: describe(error), error: null });
      return { requeueInMs: this.options.pollMs * 2 };
    }
  }

  /**
   * Rents the CPU machine (idempotent by name: a create retried after a crash finds the first
   * one) and pins its host key at first contact. True once pinned; otherwise when to look again.
   */
  private async createAndPin(
    row: StandbyAssociationRow,
    provider: StandbyProvider,
    ctx: Ctx,
  ): Promise<true | ReconcileResult> {
    if (row.create_attempted_at === null) {
      if (!(await ctx.holdLease()) || !(await ctx.patch({ create_attempted_at: ctx.now() }))) return { requeueInMs: 0 };
    }
    let machine = await provider.getMachine(row.zone, row.vm_name);
    if (!machine) {
      try {
        await provider.createMachine({
          name: row.vm_name,
          zone: row.zone,
          machineType: row.machine_type,
          diskGb: row.disk_gb,
          spot: row.spot === 1,
          labels: standbyLabels(this.options.installationId, row.id),
          sshPublicKeys: [row.sync_key_public, ...(await this.options.sshKeys.authorizedKeys(row.owner_id))],
        });
      } catch (error) {
        if (isPermanent(error)) return this.giveUp(ctx, `renting the standby failed: ${describe(error)}`);
        await ctx.patch({ last_health_error: `renting the standby: ${describe(error)}` });
        return { requeueInMs: this.options.pollMs * 2 };
      }
      machine = await provider.getMachine(row.zone, row.vm_name);
    }
    if (!machine || machine.state !== "running" || !machine.ssh) return { requeueInMs: this.options.pollMs };
    let hostKey: string;
    try {
      hostKey = await readHostKey(machine.ssh);
    } catch {
      return { requeueInMs: this.options.pollMs };
    }
    await ctx.patch({
      vm_ssh_host: machine.ssh.host,
      vm_ssh_port: machine.ssh.port,
      vm_host_key: hostKey,
      vm_ready_at: ctx.now(),
    });
    return true;
  }

  // ── syncing ───────────────────────────────────────────────────────────────────────────────

  private async sync(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    switch (row.requested_action) {
      case "disable":
        await ctx.transition("disabled", "sync disabled by user", { requested_action: null });
        return { requeueInMs: this.options.health.intervalMs };
      case "failover":
        return this.plannedFailover(row, ctx);
      case null:
        break;
      default:
        // recover / failback / enable mean nothing while the GPU is active and synced.
        await ctx.patch({ requested_action: null });
    }
    const gpu = await this.options.instanceRows.findById(row.gpu_instance_id);
    if (!gpu || DELETED.includes(gpu.status)) return this.gpuDeleted(row, ctx);
    const now = ctx.now();
    if (this.healthDue(row, now)) {
      const verdict = await this.checkGpu(gpu);
      if (verdict.lost) return this.automaticFailover(row, gpu, verdict.reason, ctx);
      if (verdict.failed) {
        const failures = row.health_failures + 1;
        const patch = {
          health_failures: failures,
          last_health_at: now,
          last_health_error: verdict.reason,
          gpu_lost_at: row.gpu_lost_at ?? now,
        };
        if (failures >= this.options.health.failures) {
          return this.automaticFailover(
            { ...row, ...patch },
            gpu,
            `${failures} failed health checks: ${verdict.reason}`,
            ctx,
          );
        }
        await ctx.patch(patch);
        return { requeueInMs: this.options.health.recheckMs };
      }
      if (verdict.paused) {
        // A GPU the user paused is not lost: nothing changes on it, so nothing to sync.
        await ctx.patch({ health_failures: 0, last_health_at: now, last_health_error: null, gpu_lost_at: null });
        return { requeueInMs: this.options.health.intervalMs };
      }
      await ctx.patch({ health_failures: 0, last_health_at: now, last_health_error: null, gpu_lost_at: null });
      row = { ...row, health_failures: 0, last_health_at: now, gpu_lost_at: null };
    }
    if (this.syncDue(row, now) && gpu.status === "running") {
      const lost = await this.syncWatched(row, gpu, ctx);
      if (lost) return this.automaticFailover({ ...row, ...lost.patch }, gpu, lost.reason, ctx);
      row = { ...row, last_sync_at: ctx.now() };
    }
    return { requeueInMs: this.nextDue(row, ctx) };
  }

  /**
   * A sync with the health checks still running beside it: a big sync can take minutes, and a GPU
   * that dies meanwhile must be noticed within the same three checks, not when the copy times
   * out. A lost GPU aborts the copy and is returned.
   */
  private async syncWatched(
    row: StandbyAssociationRow,
    gpu: InstanceRow,
    ctx: Ctx,
  ): Promise<{ reason: string; patch: Partial<StandbyAssociationRow> } | undefined> {
    const copy = new AbortController();
    const stop = () => copy.abort();
    ctx.signal.addEventListener("abort", stop, { once: true });
    let lost: { reason: string; patch: Partial<StandbyAssociationRow> } | undefined;
    const { intervalMs, recheckMs, failures: limit } = this.options.health;
    const watch = (async () => {
      let failures = 0;
      let firstFailureAt: number | null = null;
      while (!copy.signal.aborted) {
        await sleep(failures > 0 ? recheckMs : intervalMs, undefined, { signal: copy.signal }).catch(() => undefined);
        if (copy.signal.aborted) return;
        const verdict = await this.checkGpu(gpu);
        const at = ctx.now();
        if (!verdict.failed && !verdict.lost) {
          failures = 0;
          firstFailureAt = null;
          await ctx.patch({ health_failures: 0, last_health_at: at, last_health_error: null, gpu_lost_at: null });
          continue;
        }
        failures += 1;
        firstFailureAt ??= at;
        if (verdict.lost || failures >= limit) {
          const reason = verdict.lost ? verdict.reason : `${failures} failed health checks: ${verdict.reason}`;
          lost = {
            reason,
            patch: {
              health_failures: failures,
              last_health_at: at,
              last_health_error: verdict.reason,
              gpu_lost_at: firstFailureAt,
            },
          };
          copy.abort();
          return;
        }
        await ctx.patch({ health_failures: failures, last_health_at: at, last_health_error: verdict.reason });
      }
    })();
    try {
      await this.syncOnce(row, gpu, ctx, copy.signal);
    } finally {
      copy.abort();
      ctx.signal.removeEventListener("abort", stop);
      await watch;
    }
    return lost;
  }

  private async syncOnce(
    row: StandbyAssociationRow,
    gpu: InstanceRow,
    ctx: Ctx,
    signal: AbortSignal = ctx.signal,
  ): Promise<SyncResult | undefined> {
    const link = await this.link(row, gpu);
    if (!link) return undefined;
    const startedAt = ctx.now();
    try {
      if (row.sync_key_installed_on !== gpu.id) {
        await installSyncKey(link);
        await ctx.patch({ sync_key_installed_on: gpu.id });
      }
      const result = await syncToStandby(link, {
        excludes: excludesOf(row),
        standbyHasFiles: (row.standby_files ?? 0) > 0,
        timeoutMs: SYNC_TIMEOUT_MS,
        signal,
      });
      await this.recordSync(row, "gpu_to_cpu", result, ctx);
      await ctx.patch(this.syncedColumns(row, result, startedAt));
      return result;
    } catch (error) {
      const message = describe(error);
      await this.options.standby.recordSync({
        association_id: row.id,
        owner_id: row.owner_id,
        direction: "gpu_to_cpu",
        started_at: startedAt,
        duration_ms: ctx.now() - startedAt,
        bytes: 0,
        files: 0,
        ok: 0,
        error: message,
      });
      // A failed sync is retried at the next interval; its time counts so a broken one is not a hot loop.
      await ctx.patch({ last_sync_error: message, last_sync_at: row.last_sync_at });
      return undefined;
    }
  }

  private syncedColumns(row: StandbyAssociationRow, result: SyncResult, startedAt: number) {
    return {
      sync_count: row.sync_count + 1,
      // When it began: a write after this moment may not be on the standby (the RPO's bound).
      last_sync_at: startedAt,
      last_sync_bytes: result.bytesSent,
      last_sync_files: result.filesTransferred,
      last_sync_duration_ms: result.durationMs,
      last_sync_error: null,
      standby_files: result.filesTotal,
    };
  }

  private async recordSync(
    row: StandbyAssociationRow,
    direction: "gpu_to_cpu" | "cpu_to_gpu",
    result: SyncResult,
    ctx: Ctx,
  ): Promise<void> {
    await this.options.standby.recordSync({
      association_id: row.id,
      owner_id: row.owner_id,
      direction,
      started_at: ctx.now() - result.durationMs,
      duration_ms: result.durationMs,
      bytes: result.bytesSent,
      files: result.filesTransferred,
      ok: 1,
      error: null,
    });
  }

  private healthDue(row: StandbyAssociationRow, now: number): boolean {
    const every = row.health_failures > 0 ? this.options.health.recheckMs : this.options.health.intervalMs;
    return row.last_health_at === null || now >= row.last_health_at + every;
  }

  private syncDue(row: StandbyAssociationRow, now: number): boolean {
    return row.last_sync_at === null || now >= row.last_sync_at + row.sync_interval_s * 1000;
  }

  private nextDue(row: StandbyAssociationRow, ctx: Ctx): number {
    const now = ctx.now();
    const every = row.health_failures > 0 ? this.options.health.recheckMs : this.options.health.intervalMs;
    const health = (row.last_health_at ?? now) + every;
    const sync = (row.last_sync_at ?? now) + row.sync_interval_s * 1000;
    return Math.max(100, Math.min(health, sync) - now);
  }

  /**
   * One health check: what the marketplace says, then an SSH probe. The market saying outbid,
   * offline, failed or gone is final at once; an SSH failure counts toward the limit.
   */
  private async checkGpu(
    gpu: InstanceRow,
  ): Promise<{ lost: boolean; failed: boolean; paused: boolean; reason: string }> {
    const healthy = { lost: false, failed: false, paused: false, reason: "" };
    if (gpu.status === "failed")
      return { ...healthy, lost: true, reason: `the GPU instance failed: ${gpu.error ?? ""}` };
    if (gpu.status === "paused" || gpu.status === "pausing" || gpu.status === "resuming") {
      return { ...healthy, paused: true };
    }
    if (!gpu.machine_id) return { ...healthy, failed: true, reason: "the GPU has no machine" };
    // The market's answer first. A market that does not answer says nothing about the GPU (only
    // about the market, or our own network), so the SSH probe still decides.
    let ssh = gpuEndpoint(gpu);
    let marketError = "";
    try {
      const provider: Provider = await this.options.markets.providerFor(gpu.owner_id, gpu.market as MarketKind);
      const machine = await provider.getMachine(gpu.machine_id);
      if (!machine) return { ...healthy, lost: true, reason: "the marketplace no longer has the GPU machine" };
      if (LOST_STATES.includes(machine.state)) {
        return { ...healthy, lost: true, reason: `the marketplace reports the GPU ${machine.state}` };
      }
      if (machine.state === "stopped" || machine.state === "queued") return { ...healthy, paused: true };
      ssh = machine.ssh ?? ssh;
    } catch (error) {
      marketError = `; the marketplace did not answer either (${describe(error)})`;
    }
    if (!ssh) return { ...healthy, failed: true, reason: `the GPU has no SSH address${marketError}` };
    try {
      await this.probe(gpu.owner_id, ssh);
      return healthy;
    } catch (error) {
      return { ...healthy, failed: true, reason: `${describe(error)}${marketError}` };
    }
  }

  private async probe(ownerId: string, endpoint: SshEndpoint): Promise<void> {
    const key = await this.options.sshKeys.controlKey(ownerId);
    const result = await sshExec({
      endpoint,
      privateKey: key.privateKey,
      command: "true",
      timeoutMs: PROBE_TIMEOUT_MS,
    });
    if (result.exitCode !== 0) throw new Error(`SSH probe exited ${result.exitCode}`);
  }

  // ── failover ──────────────────────────────────────────────────────────────────────────────

  /**
   * The GPU is lost: the standby becomes the active machine as soon as it answers SSH. The lost
   * GPU is deleted (nothing more can come from it, and it may still bill).
   */
  private async automaticFailover(
    row: StandbyAssociationRow,
    gpu: InstanceRow,
    reason: string,
    ctx: Ctx,
  ): Promise<ReconcileResult> {
    const decidedAt = ctx.now();
    if (row.auto_failover !== 1) {
      await ctx.patch({
        last_health_at: decidedAt,
        last_health_error: `GPU lost (${reason}); automatic failover is off: run \`dumont standby failover ${row.id}\``,
        gpu_lost_at: row.gpu_lost_at ?? decidedAt,
      });
      return { requeueInMs: this.options.health.intervalMs };
    }
    const lostAt = row.gpu_lost_at ?? decidedAt;
    // Only onto a standby that answers, and never on our own say alone: when the GPU and the
    // standby are both unreachable, the likelier cause is the control plane's network, and
    // deleting a healthy GPU would lose the newest work. Checked again at the next recheck.
    try {
      await this.ensureStandbyRunning(row, ctx);
      const standby = (await this.currentStandbyEndpoint(row)) ?? standbyEndpoint(row);
      if (!standby) throw new Error("the standby has no SSH address");
      await this.probe(row.owner_id, standby);
    } catch (error) {
      await ctx.patch({
        last_health_at: decidedAt,
        last_health_error: untrustedText(
          `GPU unreachable (${reason}), and the standby too (${describe(error)}): not failing over until one answers`,
          500,
        ),
        gpu_lost_at: lostAt,
      });
      return { requeueInMs: this.options.health.recheckMs };
    }
    const failoverId = newId("fo");
    const phases: FailoverPhases = { detect: decidedAt - lostAt, [mark("decided")]: decidedAt };
    await this.options.standby.insertFailover({
      id: failoverId,
      association_id: row.id,
      owner_id: row.owner_id,
      kind: "automatic",
      reason: untrustedText(reason, 500),
      started_at: lostAt,
      phases: JSON.stringify(phases),
      completed_at: null,
      success: null,
      error: null,
      from_instance_id: gpu.id,
      to_instance_id: null,
      data_age_ms: row.last_sync_at === null ? null : lostAt - row.last_sync_at,
    });
    if (!(await ctx.patch({ failover_id: failoverId, gpu_lost_at: lostAt }))) return { requeueInMs: 0 };
    return this.switchToStandby({ ...row, failover_id: failoverId, gpu_lost_at: lostAt }, ctx, {
      failoverId,
      phases,
      reason: `GPU lost: ${untrustedText(reason, 300)}`,
      gpuAfter: "delete",
      gpu,
    });
  }

  /** A planned migration: a final sync (so nothing is lost), the GPU paused, then the switch. */
  private async plannedFailover(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    await ctx.patch({ requested_action: null });
    const gpu = await this.options.instanceRows.findById(row.gpu_instance_id);
    const startedAt = ctx.now();
    const failoverId = newId("fo");
    const phases: FailoverPhases = {};
    await this.options.standby.insertFailover({
      id: failoverId,
      association_id: row.id,
      owner_id: row.owner_id,
      kind: "planned",
      reason: "requested by user",
      started_at: startedAt,
      phases: "{}",
      completed_at: null,
      success: null,
      error: null,
      from_instance_id: row.gpu_instance_id,
      to_instance_id: null,
      data_age_ms: null,
    });
    if (gpu && gpu.status === "running") {
      const synced = await this.syncOnce(row, gpu, ctx);
      if (!synced) {
        const error = "the final sync failed; the GPU stays active (nothing was switched)";
        await this.options.standby.updateFailover(failoverId, { completed_at: ctx.now(), success: 0, error });
        await ctx.patch({ error });
        return { requeueInMs: this.options.health.intervalMs };
      }
      phases.final_sync = ctx.now() - startedAt;
      row = { ...row, ...this.syncedColumns(row, synced, startedAt) };
    }
    phases[mark("decided")] = ctx.now();
    await ctx.patch({ failover_id: failoverId });
    return this.switchToStandby({ ...row, failover_id: failoverId }, ctx, {
      failoverId,
      phases,
      reason: "planned migration to the CPU standby",
      gpuAfter: "pause",
      gpu,
      data_age_ms: 0,
    });
  }

  private async switchToStandby(
    row: StandbyAssociationRow,
    ctx: Ctx,
    plan: {
      failoverId: string;
      phases: FailoverPhases;
      reason: string;
      gpuAfter: "delete" | "pause";
      gpu: InstanceRow | undefined;
      data_age_ms?: number;
    },
  ): Promise<ReconcileResult> {
    const standby = standbyEndpoint(row);
    const decidedAt = plan.phases[mark("decided")] ?? ctx.now();
    try {
      if (!standby) throw new Error("the standby has no SSH address");
      await this.ensureStandbyRunning(row, ctx);
      await this.probe(row.owner_id, (await this.currentStandbyEndpoint(row)) ?? standby);
    } catch (error) {
      // No machine to switch to: record it, and keep checking (the standby may come back).
      const message = `the standby does not answer: ${describe(error)}`;
      await ctx.patch({ last_health_error: message });
      return { requeueInMs: this.options.health.recheckMs };
    }
    const now = ctx.now();
    plan.phases.switch = now - decidedAt;
    plan.phases[mark("switched")] = now;
    const moved = await ctx.transition("failover_active", plan.reason, {
      active_role: "cpu",
      active_since: now,
      failover_id: plan.failoverId,
      health_failures: 0,
      last_health_at: now,
      recovery_attempts: 0,
      recovery_deployment_id: null,
      error: null,
    });
    if (!moved) return { requeueInMs: 0 };
    this.drill("after_switch");
    const kind = plan.gpuAfter === "pause" ? "planned" : "automatic";
    await this.options.standby.updateFailover(plan.failoverId, {
      phases: JSON.stringify(plan.phases),
      ...(kind === "planned" ? { completed_at: now, success: 1 } : {}),
      ...(plan.data_age_ms !== undefined ? { data_age_ms: plan.data_age_ms } : {}),
    });
    if (plan.gpu) await this.retireGpu(plan.gpu, plan.gpuAfter);
    return { requeueInMs: 0 };
  }

  private async retireGpu(gpu: InstanceRow, how: "delete" | "pause"): Promise<void> {
    try {
      if (how === "pause" && gpu.status === "running") await this.options.instances.act(gpu.owner_id, gpu.id, "pause");
      if (how === "delete" && !DELETED.includes(gpu.status) && gpu.status !== "failed")
        await this.options.instances.act(gpu.owner_id, gpu.id, "delete");
    } catch {
      // Its own controller still drives it; a refused transition means it already moved on.
    }
  }

  /**
   * The GPU instance was deleted. With `--keep-standby` the standby keeps the workspace as of its
   * last sync and becomes the active machine (no recovery: the user chose this); otherwise the
   * standby goes too.
   */
  private async gpuDeleted(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    if (row.keep_on_delete !== 1) {
      await ctx.transition("destroying", "the GPU instance was deleted", {});
      return { requeueInMs: 0 };
    }
    const now = ctx.now();
    const failoverId = newId("fo");
    await this.options.standby.insertFailover({
      id: failoverId,
      association_id: row.id,
      owner_id: row.owner_id,
      kind: "planned",
      reason: "the GPU instance was deleted with --keep-standby",
      started_at: now,
      phases: "{}",
      completed_at: now,
      success: 1,
      error: null,
      from_instance_id: row.gpu_instance_id,
      to_instance_id: null,
      data_age_ms: row.last_sync_at === null ? null : now - row.last_sync_at,
    });
    await ctx.transition("failover_active", "the GPU instance was deleted; the standby keeps the workspace", {
      active_role: "cpu",
      active_since: now,
      failover_id: failoverId,
      auto_recovery: 0,
    });
    return { requeueInMs: 0 };
  }

  // ── failover_active ───────────────────────────────────────────────────────────────────────

  private async serveFromStandby(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    const failover = row.failover_id ? await this.options.standby.failover(row.failover_id) : undefined;
    if (failover && failover.completed_at === null) await this.finishSwitch(row, failover);
    const action = row.requested_action;
    const automatic = failover?.kind === "automatic" && failover.completed_at === null;
    if (action === "recover" || action === "failback") {
      // A recovery by hand after a GPU loss continues that incident's record (its MTTR counts the wait).
      const kind = action === "failback" ? "failback" : automatic ? null : "recovery";
      return this.startRecovery(row, ctx, kind);
    }
    if (action !== null) await ctx.patch({ requested_action: null });
    if (automatic && row.auto_recovery === 1) {
      const wait = Math.min(
        RECOVERY_BACKOFF_CAP_MS,
        row.recovery_attempts === 0 ? 0 : RECOVERY_BACKOFF_MS * 2 ** (row.recovery_attempts - 1),
      );
      const readyAt = row.updated_at + wait;
      if (ctx.now() >= readyAt) return this.startRecovery(row, ctx, null);
      return { requeueInMs: readyAt - ctx.now() };
    }
    // The standby serves the workspace: keep it running (a spot standby may be preempted).
    try {
      await this.ensureStandbyRunning(row, ctx);
    } catch (error) {
      await ctx.patch({ last_health_error: `the standby: ${describe(error)}` });
    }
    return { requeueInMs: this.options.health.intervalMs };
  }

  /**
   * What a switch does after its transition, done again for a server that died in between: its
   * phases recorded (a planned one completed), and the GPU it left retired. Without this a lost
   * GPU would stay rented (and billing) beside the standby, its row still `running`. The delete
   * is idempotent, so an automatic failover's GPU is looked at on every pass until it is gone.
   */
  private async finishSwitch(row: StandbyAssociationRow, failover: StandbyFailoverRow): Promise<void> {
    if (failover.kind !== "automatic" && failover.kind !== "planned") return;
    const planned = failover.kind === "planned";
    const phases = readPhases(failover);
    if (phases.switch === undefined) {
      const switchedAt = row.active_since;
      phases.switch = switchedAt - (phases[mark("decided")] ?? switchedAt);
      phases[mark("switched")] = switchedAt;
      await this.options.standby.updateFailover(failover.id, {
        phases: JSON.stringify(phases),
        ...(planned ? { completed_at: switchedAt, success: 1, data_age_ms: 0 } : {}),
      });
    } else if (planned) {
      return;
    }
    const gpu = await this.options.instanceRows.findById(failover.from_instance_id ?? row.gpu_instance_id);
    if (gpu) await this.retireGpu(gpu, planned ? "pause" : "delete");
  }

  /**
   * Moves to `recovering`. `kind` null continues an automatic failover (its record measures the
   * whole way back); a user's recover or failback starts a record of its own.
   */
  private async startRecovery(
    row: StandbyAssociationRow,
    ctx: Ctx,
    kind: "recovery" | "failback" | null,
  ): Promise<ReconcileResult> {
    const now = ctx.now();
    let failoverId = row.failover_id;
    if (kind !== null || failoverId === null) {
      failoverId = newId("fo");
      await this.options.standby.insertFailover({
        id: failoverId,
        association_id: row.id,
        owner_id: row.owner_id,
        kind: kind ?? "recovery",
        reason: kind === "failback" ? "back to the original GPU, requested by user" : "a new GPU, requested by user",
        started_at: now,
        phases: JSON.stringify({ [mark("recovering")]: now }),
        completed_at: null,
        success: null,
        error: null,
        from_instance_id: null,
        to_instance_id: null,
        data_age_ms: null,
      });
    } else {
      const failover = await this.options.standby.failover(failoverId);
      if (failover) {
        const phases = readPhases(failover);
        phases[mark("recovering")] = now;
        await this.options.standby.updateFailover(failoverId, { phases: JSON.stringify(phases) });
      }
    }
    await ctx.transition(
      "recovering",
      kind === "failback" ? "failing back to the original GPU" : "recovering onto a new GPU",
      {
        requested_action: null,
        failover_id: failoverId,
        recovery_deployment_id: null,
      },
    );
    return { requeueInMs: 0 };
  }

  // ── recovering ────────────────────────────────────────────────────────────────────────────

  private async recover(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    const failover = row.failover_id ? await this.options.standby.failover(row.failover_id) : undefined;
    if (!failover) return this.recoveryFailed(row, ctx, "the failover record is missing", undefined);
    const phases = readPhases(failover);
    const target =
      failover.kind === "failback" ? await this.resumedOriginal(row, ctx) : await this.raceWinner(row, ctx);
    if ("failed" in target) return this.recoveryFailed(row, ctx, target.failed, undefined);
    if ("wait" in target) return { requeueInMs: target.wait };
    const gpu = target.gpu;
    const started = phases[mark("recovering")] ?? failover.started_at;
    phases.provision ??= ctx.now() - started;
    const link = await this.link(row, gpu);
    if (!link) return { requeueInMs: this.options.pollMs };
    try {
      await this.ensureStandbyRunning(row, ctx);
      await installSyncKey(link);
      const excludes = excludesOf(row);
      let restoreMs = 0;
      let verifyMs = 0;
      let identical = false;
      let differences: string[] = [];
      for (let pass = 0; pass < RESTORE_PASSES && !identical; pass++) {
        const restoredAt = ctx.now();
        const restored = await restoreFromStandby(link, { excludes, timeoutMs: SYNC_TIMEOUT_MS, signal: ctx.signal });
        await this.recordSync(row, "cpu_to_gpu", restored, ctx);
        this.drill("mid_restore");
        restoreMs += ctx.now() - restoredAt;
        const verifiedAt = ctx.now();
        ({ identical, differences } = await verifyRestore(link, {
          excludes,
          timeoutMs: SYNC_TIMEOUT_MS,
          signal: ctx.signal,
        }));
        verifyMs += ctx.now() - verifiedAt;
      }
      if (!identical) {
        throw new Error(`the restored workspace differs from the standby: ${differences.slice(0, 5).join("; ")}`);
      }
      phases.restore = restoreMs;
      phases.verify = verifyMs;
      const switchedAt = ctx.now();
      await this.probe(row.owner_id, link.gpu);
      phases.switch_back = ctx.now() - switchedAt;
      const now = ctx.now();
      // The record first: a server that dies between the two redoes the restore and writes it
      // again, where the other order would leave it open forever (the row forgets its id).
      if (!(await ctx.holdLease())) return { requeueInMs: 0 };
      await this.options.standby.updateFailover(failover.id, {
        phases: JSON.stringify(phases),
        completed_at: now,
        success: 1,
        to_instance_id: gpu.id,
      });
      await ctx.transition("syncing", `workspace restored on ${gpu.id} and verified; the GPU is active again`, {
        gpu_instance_id: gpu.id,
        active_role: "gpu",
        active_since: now,
        failover_id: null,
        recovery_deployment_id: null,
        recovery_attempts: 0,
        sync_key_installed_on: gpu.id,
        health_failures: 0,
        last_health_at: now,
        gpu_lost_at: null,
        last_sync_at: now,
        error: null,
      });
      return { requeueInMs: 0 };
    } catch (error) {
      await this.options.standby.updateFailover(failover.id, { phases: JSON.stringify(phases) });
      return this.recoveryFailed(row, ctx, describe(error), failover.kind === "failback" ? undefined : gpu);
    }
  }

  /** The recovery's race: its id recorded before it exists, so a crash cannot lose the machine it wins. */
  private async raceWinner(
    row: StandbyAssociationRow,
    ctx: Ctx,
  ): Promise<{ gpu: InstanceRow } | { wait: number } | { failed: string }> {
    let deploymentId = row.recovery_deployment_id;
    if (deploymentId === null) {
      deploymentId = newId("dep");
      if (!(await ctx.holdLease()) || !(await ctx.patch({ recovery_deployment_id: deploymentId }))) return { wait: 0 };
      const original = await this.options.instanceRows.findById(row.gpu_instance_id);
      try {
        await this.options.wizard.deploy(
          row.owner_id,
          {
            gpu_name: original?.gpu_name ?? undefined,
            num_gpus: original?.num_gpus ?? 1,
            speed: "any",
            max_price: Math.max(0.05, Math.round((original?.price_per_hour ?? 1) * 2 * 1000) / 1000),
            region: "global",
            machine_type: "on-demand",
            disk_size: original?.disk_gb ?? 20,
            image: original?.image ?? "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime",
            strategy: "race",
            batch_size: 3,
            max_batches: 3,
            batch_timeout_seconds: 120,
            exclude_hosts: original?.host_machine_id ? [original.host_machine_id] : [],
          },
          deploymentId,
        );
      } catch (error) {
        return { failed: `starting the GPU race failed: ${describe(error)}` };
      }
      this.drill("after_race_started");
      return { wait: this.options.pollMs };
    }
    const deployment = await this.options.deployments.findOwned(row.owner_id, deploymentId);
    if (!deployment) return { failed: "the recovery's GPU race is missing" };
    const status = deployment.status as DeploymentStatus;
    switch (status) {
      case "searching":
      case "creating":
      case "waiting":
        return { wait: this.options.pollMs };
      case "ready":
      case "cleanup":
      case "completed": {
        if (!deployment.winner_instance_id) {
          return status === "cleanup"
            ? { wait: this.options.pollMs }
            : { failed: deployment.error ?? "the race found no GPU" };
        }
        const winner = await this.options.instanceRows.findById(deployment.winner_instance_id);
        if (!winner || winner.status !== "running") return { wait: this.options.pollMs };
        return { gpu: winner };
      }
      case "failed":
      case "cancelled":
        return { failed: `no new GPU: ${deployment.error ?? status}` };
      default:
        return assertNever(status, "deployment status");
    }
  }

  /** A failback resumes the GPU the planned failover paused. */
  private async resumedOriginal(
    row: StandbyAssociationRow,
    ctx: Ctx,
  ): Promise<{ gpu: InstanceRow } | { wait: number } | { failed: string }> {
    const gpu = await this.options.instanceRows.findById(row.gpu_instance_id);
    if (!gpu || DELETED.includes(gpu.status) || gpu.status === "failed") {
      return { failed: "the original GPU is gone; use `dumont standby recover` for a new one" };
    }
    if (gpu.status === "paused") {
      if (!(await ctx.holdLease())) return { wait: 0 };
      try {
        await this.options.instances.act(gpu.owner_id, gpu.id, "resume");
      } catch (error) {
        return { failed: `resuming the GPU failed: ${describe(error)}` };
      }
      return { wait: this.options.pollMs };
    }
    return gpu.status === "running" ? { gpu } : { wait: this.options.pollMs };
  }

  /** Back to the standby as the active machine; a new GPU that could not take over is not kept. */
  private async recoveryFailed(
    row: StandbyAssociationRow,
    ctx: Ctx,
    error: string,
    rented: InstanceRow | undefined,
  ): Promise<ReconcileResult> {
    if (rented) await this.retireGpu(rented, "delete");
    const message = `recovery attempt ${row.recovery_attempts + 1} failed: ${untrustedText(error, 500)}`;
    if (row.failover_id) await this.options.standby.updateFailover(row.failover_id, { error: message });
    await ctx.transition("failover_active", message, {
      recovery_attempts: row.recovery_attempts + 1,
      recovery_deployment_id: null,
      error: message,
    });
    return { requeueInMs: 0 };
  }

  // ── disabled, destroying ──────────────────────────────────────────────────────────────────

  private async disabled(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    if (row.requested_action === "enable") {
      await ctx.transition("syncing", "sync enabled by user", { requested_action: null, last_sync_at: null });
      return { requeueInMs: 0 };
    }
    if (row.requested_action !== null) await ctx.patch({ requested_action: null });
    const gpu = await this.options.instanceRows.findById(row.gpu_instance_id);
    if (!gpu || DELETED.includes(gpu.status)) return this.gpuDeleted(row, ctx);
    return { requeueInMs: this.options.health.intervalMs * 6 };
  }

  private async destroy(row: StandbyAssociationRow, ctx: Ctx): Promise<ReconcileResult> {
    if (row.recovery_deployment_id) {
      await this.options.wizard.cancel(row.owner_id, row.recovery_deployment_id).catch(() => undefined);
    }
    if (!(await ctx.holdLease())) return { requeueInMs: 0 };
    await (await this.standbyProvider(row)).destroyMachine(row.zone, row.vm_name);
    await this.closeOpenFailover(row, ctx.now());
    const failed = row.error !== null && row.vm_ready_at === null;
    await ctx.transition(failed ? "failed" : "destroyed", "the standby machine is gone (confirmed by the provider)", {
      active_role: "gpu",
    });
    return { requeueInMs: 0 };
  }

  /** A failover still open when the standby goes ends here: it succeeded if the CPU served the workspace. */
  private async closeOpenFailover(row: StandbyAssociationRow, now: number): Promise<void> {
    if (!row.failover_id) return;
    const failover = await this.options.standby.failover(row.failover_id);
    if (!failover || failover.completed_at !== null) return;
    const served = readPhases(failover).switch !== undefined;
    await this.options.standby.updateFailover(failover.id, {
      completed_at: now,
      success: served ? 1 : 0,
      error: failover.error ?? (served ? null : "the standby was deleted before it took over"),
    });
  }

  private async giveUp(ctx: Ctx, error: string): Promise<ReconcileResult> {
    await ctx.transition("destroying", error, { error });
    return { requeueInMs: 0 };
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  /** The crash drill: this process dies here, with no chance to record anything more. */
  private drill(point: StandbyDrillPoint): void {
    if (this.options.drillKillAt === point) process.kill(process.pid, "SIGKILL");
  }

  private standbyProvider(row: StandbyAssociationRow): Promise<StandbyProvider> {
    return this.options.standbyMarkets.providerFor(row.standby_market as StandbyMarketKind, row.owner_id);
  }

  private async link(row: StandbyAssociationRow, gpu: InstanceRow): Promise<StandbyLink | undefined> {
    const control = await this.options.sshKeys.controlKey(row.owner_id);
    return linkOf(row, gpu, {
      gpuPrivateKey: control.privateKey,
      syncPrivateKey: this.options.box.open(row.sync_key_private_sealed),
    });
  }

  /** Where the standby answers now (its address can change after a stop and start). */
  private async currentStandbyEndpoint(row: StandbyAssociationRow): Promise<SshEndpoint | undefined> {
    const machine = await (await this.standbyProvider(row)).getMachine(row.zone, row.vm_name);
    return machine?.ssh ?? undefined;
  }

  /**
   * A stopped standby (a spot machine preempted) is started again and its new address recorded;
   * its host key is the same machine's, so the pin holds.
   */
  private async ensureStandbyRunning(row: StandbyAssociationRow, ctx: Ctx): Promise<void> {
    const provider = await this.standbyProvider(row);
    let machine = await provider.getMachine(row.zone, row.vm_name);
    if (!machine) throw new Error("the standby machine no longer exists at the provider");
    if (machine.state === "stopped" && provider.capabilities.supportsStop) {
      await provider.setRunning(row.zone, row.vm_name, true);
      machine = await provider.getMachine(row.zone, row.vm_name);
    }
    if (machine?.ssh && (machine.ssh.host !== row.vm_ssh_host || machine.ssh.port !== row.vm_ssh_port)) {
      await ctx.patch({ vm_ssh_host: machine.ssh.host, vm_ssh_port: machine.ssh.port });
      row.vm_ssh_host = machine.ssh.host;
      row.vm_ssh_port = machine.ssh.port;
    }
  }
}

function describe(error: unknown): string {
  const text = isDumontError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
  return untrustedText(text, 500);
}

/** Errors no retry can fix: a refused request or credentials. */
function isPermanent(error: unknown): boolean {
  return isDumontError(error) && ["VALIDATION_FAILED", "PROVIDER_AUTH_FAILED", "PROVIDER_ERROR"].includes(error.code);
}

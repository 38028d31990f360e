import { INSTANCE_MACHINE, assertNever, isDumontError, type FailureStage, type InstanceStatus } from "@dumont/core";
import type { InstanceRow } from "@dumont/db";
import type { Machine, Provider } from "@dumont/providers";
import type { Controller, ReconcileContext, ReconcileResult } from "../controllers/controller";
import type { MarketKind, MarketRegistry } from "../market/market-registry";
import type { SshKeyService } from "../account/ssh-key-service";
import type { HistoryService } from "../history/history-service";
import type { SecretBox } from "../security/secret-box";
import { openEnv } from "../security/sealed-env";
import { probeMachine, type ProbeFacts } from "./boot-probe";

export interface InstanceControllerOptions {
  markets: MarketRegistry;
  sshKeys: SshKeyService;
  history: HistoryService;
  /** Opens the sealed env just before it goes to the marketplace. */
  box: SecretBox;
  /** Frees the offer an instance held once it is gone (wizard offer claims). */
  releaseOfferClaims: (instanceId: string) => Promise<void>;
  /** How often to look at a machine that is changing state. */
  pollMs: number;
  /** How often to check on a running or paused machine. */
  idlePollMs: number;
  /** Give up on a machine that is not ready after this long (then destroy it). */
  bootTimeoutMs: number;
  /** Drill: SIGKILL this process right after the marketplace rented a machine, before it is recorded. */
  drillKillAfterCreate?: boolean;
}

type Ctx = ReconcileContext<InstanceRow, InstanceStatus>;

/**
 * Drives an instance through INSTANCE_MACHINE against its marketplace. Rules that keep money
 * safe: the machine is labelled with our ids before it exists; its id is recorded before any
 * status change; every failure after a machine exists goes through `destroying`, which only
 * ends when the marketplace confirms the machine is gone.
 */
export class InstanceController implements Controller<InstanceRow, InstanceStatus> {
  readonly table = "instances" as const;
  readonly machine = INSTANCE_MACHINE;

  constructor(private readonly options: InstanceControllerOptions) {}

  async reconcile(row: InstanceRow, ctx: Ctx): Promise<ReconcileResult> {
    const status = row.status as InstanceStatus;
    const provider = await this.options.markets.providerFor(row.owner_id, row.market as MarketKind);
    switch (status) {
      case "creating":
        return this.create(row, provider, ctx);
      case "booting":
        return this.boot(row, provider, ctx);
      case "running":
      case "paused":
        return this.watch(row, provider, ctx);
      case "pausing":
        return this.pause(row, provider, ctx);
      case "resuming":
        return this.resume(row, provider, ctx);
      case "destroying":
        return this.destroy(row, provider, ctx);
      case "destroyed":
      case "failed":
        return { requeueInMs: 0 };
      default:
        return assertNever(status, "instance status");
    }
  }

  private async create(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    if (row.create_attempted_at !== null) return this.recoverCreate(row, provider, ctx);
    if (!(await ctx.holdLease()) || !(await ctx.patch({ create_attempted_at: ctx.now() }))) return { requeueInMs: 0 };
    try {
      const sentKeys = await this.options.sshKeys.authorizedKeys(row.owner_id);
      const { machineId } = await provider.createMachine({
        offerId: row.offer_id,
        image: row.image,
        diskGb: row.disk_gb,
        label: row.label,
        env: openEnv(this.options.box, row.env),
        onstart: row.onstart ?? undefined,
        bidPricePerHour: row.bid_price ?? undefined,
        sshPublicKeys: sentKeys,
      });
      if (this.options.drillKillAfterCreate) process.kill(process.pid, "SIGKILL");
      // Record first: if the status write below is refused (user deleted meanwhile), the
      // `destroying` step still knows which machine to destroy.
      await ctx.patch({ machine_id: machineId });
      await this.attachLateKeys(row, { provider, id: machineId }, sentKeys, ctx);
      await ctx.transition("booting", `rented machine ${machineId}`, { machine_id: machineId });
      return { requeueInMs: this.bootPollMs(row, ctx) };
    } catch (error) {
      const message = isDumontError(error) ? `${error.code}: ${error.message}` : String(error);
      if (await ctx.transition("failed", `renting failed: ${message}`, { error: message })) {
        await this.options.releaseOfferClaims(row.id);
        await this.recordAttempt(row, ctx, { stage: "creating", reason: message });
      }
      return { requeueInMs: 0 };
    }
  }

  /**
   * A key the user added while the create call was in flight is in neither that call nor the
   * add's own attach (which saw no machine id yet), so it is attached here. The add inserts its
   * key before looking for machines, and the machine id is recorded before this re-read, so
   * every key is attached by one side or the other.
   */
  private async attachLateKeys(
    row: InstanceRow,
    machine: { provider: Provider; id: string },
    sent: readonly string[],
    ctx: Ctx,
  ): Promise<void> {
    const { provider, id: machineId } = machine;
    if (!provider.capabilities.supportsSshKeyAttach) return;
    const late = (await this.options.sshKeys.authorizedKeys(row.owner_id)).filter((key) => !sent.includes(key));
    for (const key of late) {
      try {
        await provider.attachSshKey(machineId, key);
      } catch (error) {
        await ctx.patch({ status_message: `an SSH key added while renting was not attached: ${String(error)}` });
      }
    }
  }

  /**
   * A previous process called the marketplace and stopped before recording the answer. The label
   * was in the request, so the marketplace says whether a machine exists: if it does, it is
   * adopted at once (recorded, then booted like any other); if not, the create never happened.
   * A machine that appears only later has no owner and goes to the orphan collector.
   */
  private async recoverCreate(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    const [machine, ...extra] = (await provider.listMachines(row.label)).filter((m) => m.label === row.label);
    if (!machine) {
      const error = "the server stopped while renting, and the marketplace has no machine with this instance's label";
      if (await ctx.transition("failed", error, { error })) await this.options.releaseOfferClaims(row.id);
      return { requeueInMs: 0 };
    }
    // One create call makes at most one machine; anything more is not ours to keep.
    for (const other of extra) await provider.destroyMachine(other.id);
    if (!(await ctx.patch({ machine_id: machine.id }))) return { requeueInMs: 0 };
    await ctx.transition("booting", `found machine ${machine.id} by its label after the server stopped mid-create`, {
      machine_id: machine.id,
    });
    return { requeueInMs: this.options.pollMs };
  }

  private async boot(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    const machine = row.machine_id ? await provider.getMachine(row.machine_id) : undefined;
    if (!machine) {
      await this.failBoot(row, ctx, {
        stage: "loading",
        error: "the machine disappeared from the marketplace while booting",
      });
      return { requeueInMs: 0 };
    }
    const facts = machineFacts(machine);
    if (machine.state === "failed" || machine.state === "offline" || machine.state === "outbid") {
      await this.failBoot(row, ctx, {
        stage: "loading",
        error: `boot failed (${machine.state}): ${machine.statusMessage ?? "no detail"}`,
        facts,
      });
      return { requeueInMs: 0 };
    }
    if (ctx.now() - row.created_at > this.options.bootTimeoutMs) {
      const stage = machine.state === "running" ? "connecting" : "loading";
      await this.failBoot(row, ctx, {
        stage,
        error: `not ready after ${Math.round(this.options.bootTimeoutMs / 1000)} s`,
        facts,
      });
      return { requeueInMs: 0 };
    }
    if (machine.state !== "running" || !machine.ssh) {
      await ctx.patch(facts);
      return { requeueInMs: this.bootPollMs(row, ctx) };
    }
    // Running is not ready: the machine must answer SSH with our key (the same session reports
    // what the wizard verifies, so a race's winner needs no second one).
    const key = await this.options.sshKeys.controlKey(row.owner_id);
    let probed: ProbeFacts;
    try {
      probed = await probeMachine(machine.ssh, key.privateKey);
    } catch (error) {
      await ctx.patch({ ...facts, status_message: `running, SSH not answering yet: ${String(error)}` });
      return { requeueInMs: this.bootPollMs(row, ctx) };
    }
    const firstBoot = row.ready_at === null;
    if (
      await ctx.transition("running", "running and answering SSH", {
        ...facts,
        ready_at: row.ready_at ?? ctx.now(),
        probed_gpus: probed.gpus,
        probed_disk_kb: probed.diskKb,
        error: null,
      })
    ) {
      if (firstBoot) await this.recordAttempt({ ...row, ...facts }, ctx, { stage: null, reason: null });
    }
    return { requeueInMs: this.options.idlePollMs };
  }

  /**
   * A first boot is looked at about every 5 % of the time it has taken so far, between a quarter
   * of the poll interval and the poll interval: a machine that boots fast (the one that wins a
   * race) is seen within a few percent of its boot time, a slow one costs no more calls than
   * before once it is past twenty intervals, and a race's candidates together stay within a few
   * calls a second at the default interval. Resumes keep the plain interval.
   */
  private bootPollMs(row: InstanceRow, ctx: Ctx): number {
    const { pollMs } = this.options;
    if (row.ready_at !== null) return pollMs;
    const age = ctx.now() - row.created_at;
    return Math.round(Math.min(pollMs, Math.max(pollMs / 4, age / 20)));
  }

  private async watch(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    const machine = row.machine_id ? await provider.getMachine(row.machine_id) : undefined;
    if (!machine) {
      await this.fail(ctx, "the marketplace no longer has this machine (host lost or destroyed outside Dumont)");
      return { requeueInMs: 0 };
    }
    const facts = machineFacts(machine);
    if (row.status === "running" && (machine.state === "stopped" || machine.state === "outbid")) {
      await ctx.transition("paused", `the marketplace stopped it (${machine.state})`, facts);
    } else {
      await ctx.patch(facts);
    }
    return { requeueInMs: this.options.idlePollMs };
  }

  private async pause(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    if (row.machine_id) await provider.setRunning(row.machine_id, false);
    const machine = row.machine_id ? await provider.getMachine(row.machine_id) : undefined;
    if (machine && machine.state !== "stopped" && machine.state !== "outbid") {
      await ctx.patch(machineFacts(machine));
      return { requeueInMs: this.options.pollMs };
    }
    await ctx.transition("paused", "stopped; disk kept", machine ? machineFacts(machine) : {});
    return { requeueInMs: this.options.idlePollMs };
  }

  private async resume(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    if (!row.machine_id) {
      await this.fail(ctx, "no machine to resume");
      return { requeueInMs: 0 };
    }
    const { queued } = await provider.setRunning(row.machine_id, true);
    if (queued) {
      await ctx.patch({ status_message: "waiting for the GPU: another renter has it (start queued)" });
      return { requeueInMs: this.options.pollMs };
    }
    await ctx.transition("booting", "start requested");
    return { requeueInMs: this.options.pollMs };
  }

  private async destroy(row: InstanceRow, provider: Provider, ctx: Ctx): Promise<ReconcileResult> {
    if (row.machine_id) await provider.destroyMachine(row.machine_id);
    const failed = row.error !== null;
    const ended = await ctx.transition(
      failed ? "failed" : "destroyed",
      failed ? `destroyed after: ${row.error ?? ""}` : "destroyed",
      {
        ssh_host: null,
        ssh_port: null,
      },
    );
    await this.options.releaseOfferClaims(row.id);
    // A machine rented and destroyed before its first boot finished, through no fault of its
    // host (a race loser, a delete while booting): its outcome is `abandoned`, so history counts
    // every rented machine without blaming the host. (Boot failures were recorded as they failed.)
    if (ended && !failed && row.machine_id !== null && row.ready_at === null) {
      await this.recordAttempt(row, ctx, {
        stage: null,
        reason: row.deployment_id ? "destroyed before ready: the race was decided" : "destroyed before ready",
        abandoned: true,
      });
    }
    return { requeueInMs: 0 };
  }

  /** A first boot that failed counts against the host; a failed resume does not. */
  private async failBoot(
    row: InstanceRow,
    ctx: Ctx,
    failure: { stage: FailureStage; error: string; facts?: Partial<InstanceRow> },
  ) {
    const facts = failure.facts ?? {};
    await this.fail(ctx, failure.error, facts);
    if (row.ready_at === null) {
      await this.recordAttempt({ ...row, ...facts }, ctx, { stage: failure.stage, reason: failure.error });
    }
  }

  /** Machine history, one outcome per machine: only attempts whose host we know can teach us anything. */
  private async recordAttempt(
    row: InstanceRow,
    ctx: Ctx,
    outcome: { stage: FailureStage | null; reason: string | null; abandoned?: boolean },
  ) {
    if (!row.host_machine_id) return;
    try {
      await this.options.history.record({
        provider: row.provider,
        machineId: row.host_machine_id,
        offerId: row.offer_id,
        instanceId: row.id,
        userId: row.owner_id,
        gpuName: row.gpu_name,
        numGpus: row.num_gpus,
        pricePerHour: row.price_per_hour,
        geolocation: row.geolocation,
        success: outcome.stage === null && !outcome.abandoned,
        abandoned: outcome.abandoned ?? false,
        failureStage: outcome.stage,
        failureReason: outcome.reason,
        timeToReadyS: outcome.stage === null && !outcome.abandoned ? (ctx.now() - row.created_at) / 1000 : null,
      });
    } catch (error) {
      // History is advice; losing one record must not block the machine's lifecycle.
      ctx.log.warn({ err: error }, "could not record the attempt in machine history");
    }
  }

  /** Every failure with a machine goes through destroying: nothing is left renting. */
  private async fail(ctx: Ctx, error: string, facts: Partial<InstanceRow> = {}): Promise<void> {
    await ctx.transition("destroying", error, { ...facts, error });
  }
}

function machineFacts(machine: Machine): Partial<InstanceRow> {
  return {
    gpu_name: machine.gpuName,
    num_gpus: machine.numGpus,
    price_per_hour: machine.pricePerHour,
    geolocation: machine.geolocation,
    host_machine_id: machine.hostMachineId,
    ssh_host: machine.ssh?.host ?? null,
    ssh_port: machine.ssh?.port ?? null,
    status_message: machine.statusMessage,
  };
}

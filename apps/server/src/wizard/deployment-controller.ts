import {
  DEPLOYMENT_MACHINE,
  INSTANCE_MACHINE,
  WIZARD_DEFAULTS,
  assertNever,
  candidateScore,
  isDumontError,
  isTerminal,
  type DeploymentStatus,
  type InstanceStatus,
} from "@dumont/core";
import type { ControlledStore, DeploymentRow, DeploymentsRepository, InstanceRow } from "@dumont/db";
import type { Offer } from "@dumont/providers";
import { ZodError, type z } from "zod";
import { DeployConfig as StoredDeployConfig } from "@dumont/core";
import type { Controller, ReconcileContext, ReconcileResult } from "../controllers/controller";
import type { InstanceService } from "../instances/instance-service";
import { probeMachine, type ProbeFacts } from "../instances/boot-probe";
import type { SshKeyService } from "../account/ssh-key-service";
import type { HistoryService } from "../history/history-service";
import type { MarketKind } from "../market/market-registry";

export type DeployConfig = z.output<typeof StoredDeployConfig>;

/** A ranked offer the race may rent, as stored in the deployment row. */
export interface RankedOffer {
  offer: Offer;
  score: number;
}

export interface DeploymentControllerOptions {
  deployments: DeploymentsRepository;
  instances: InstanceService;
  store: ControlledStore;
  sshKeys: SshKeyService;
  history: HistoryService;
  pollMs: number;
  /** A search that keeps failing (market down, provider errors) fails the deployment after this long. */
  searchTimeoutMs: number;
  /**
   * Called while the race holds its winner, on every step until it completes (so a crash in
   * between repeats it): gives the winner a standby when the deployment asked for one. Must be
   * idempotent.
   */
  onWinner?: (row: DeploymentRow, config: DeployConfig, winnerId: string) => Promise<void>;
}

type Ctx = ReconcileContext<DeploymentRow, DeploymentStatus>;

const LIVE: readonly InstanceStatus[] = ["creating", "booting", "running", "pausing", "paused", "resuming"];

/**
 * The deploy wizard as a controller. Each candidate is an ordinary instance row (so it is labelled
 * before it exists, collected if orphaned, and destroyed with confirmation); the deployment only
 * decides which offers to rent and when, which candidate wins, and that every other one goes.
 */
export class DeploymentController implements Controller<DeploymentRow, DeploymentStatus> {
  readonly table = "deployments" as const;
  readonly machine = DEPLOYMENT_MACHINE;

  constructor(private readonly options: DeploymentControllerOptions) {}

  async reconcile(row: DeploymentRow, ctx: Ctx): Promise<ReconcileResult> {
    const status = row.status as DeploymentStatus;
    switch (status) {
      case "searching":
        return this.search(row, ctx);
      case "creating":
        return this.launchBatch(row, ctx);
      case "waiting":
        return this.watchRace(row, ctx);
      case "ready":
        return this.keepWinner(row, ctx);
      case "cleanup":
        return this.cleanup(row, ctx);
      case "completed":
      case "failed":
      case "cancelled":
        return { requeueInMs: 0 };
      default:
        return assertNever(status, "deployment status");
    }
  }

  private async search(row: DeploymentRow, ctx: Ctx): Promise<ReconcileResult> {
    let config: DeployConfig;
    let offers: Awaited<ReturnType<InstanceService["offers"]>>["offers"];
    let emptyReason: string | null;
    try {
      config = parseConfig(row);
      ({ offers, emptyReason } = await this.options.instances.offers(row.owner_id, {
        gpu_name: config.gpu_name,
        num_gpus: config.num_gpus,
        max_price: config.max_price,
        region: config.region,
        machine_type: config.machine_type,
        speed: config.speed === "any" ? undefined : config.speed,
        min_disk: config.disk_size,
        // Prices include the disk the candidates will rent, so they rank on what they bill.
        disk_size: config.disk_size,
        min_reliability: config.min_reliability,
        order: "price",
        limit: 500,
        defaults: defaultedFields(config),
      }));
    } catch (error) {
      return this.searchFailed(row, ctx, error);
    }
    const want = config.strategy === "race" ? config.batch_size * config.max_batches * 2 : config.max_batches * 4;
    // Offers other races hold right now are not candidates; ask the market for more instead.
    const claimed = await this.options.deployments.claimedOffers(row.market);
    const tried = new Set((await this.options.deployments.candidates(row.id)).map((c) => c.offer_id));
    const excludedHosts = new Set(config.exclude_hosts ?? []);
    const ranked: RankedOffer[] = offers
      .filter((offer) => !claimed.has(offer.id) && !tried.has(offer.id) && !excludedHosts.has(offer.machineId))
      .map((offer) => ({
        offer,
        score: candidateScore({
          pricePerHour: offer.pricePerHour,
          maxPrice: config.max_price,
          reliability: offer.reliability,
          successRate: offer.successRate,
        }),
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, want);
    if (ranked.length === 0) {
      const error =
        emptyReason ?? "every matching offer is already being tried by this or another deployment; try again shortly";
      await ctx.transition("cleanup", error, { outcome: "failed", error, offers_found: 0 });
      return { requeueInMs: 0 };
    }
    await ctx.transition("creating", `${ranked.length} candidates ranked`, {
      candidates: JSON.stringify(ranked),
      next_candidate: 0,
      offers_found: offers.length,
    });
    return { requeueInMs: 0 };
  }

  /**
   * A search that cannot succeed (a request the market refuses, a config that no longer parses)
   * fails the deployment at once; one that may succeed later (market down, provider errors, rate
   * limits) is retried until the deployment has searched for `searchTimeoutMs`, then fails with
   * the last reason. `updated_at` is when this search began: nothing writes the row while it fails.
   */
  private async searchFailed(row: DeploymentRow, ctx: Ctx, error: unknown): Promise<ReconcileResult> {
    const reason = isDumontError(error)
      ? `${error.code}: ${error.message}`
      : error instanceof ZodError
        ? `the stored request is no longer valid: ${error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`
        : error instanceof Error
          ? error.message
          : String(error);
    const permanent =
      error instanceof ZodError ||
      (isDumontError(error) && error.httpStatus >= 400 && error.httpStatus < 500 && error.code !== "RATE_LIMITED");
    const searchingFor = ctx.now() - row.updated_at;
    if (!permanent && searchingFor < this.options.searchTimeoutMs) {
      ctx.log.warn({ err: error, searching_for_ms: searchingFor }, "offer search failed; retrying");
      return { requeueInMs: Math.min(5000, Math.max(this.options.pollMs, 500)) };
    }
    const message = permanent
      ? `the offer search cannot succeed: ${reason}`
      : `no offer search succeeded in ${Math.round(searchingFor / 1000)} s: ${reason}`;
    return this.raceLost(row, ctx, message);
  }

  /** Rents the next batch: K offers for a race, one for sequential. Claims stop double purchases. */
  private async launchBatch(row: DeploymentRow, ctx: Ctx): Promise<ReconcileResult> {
    const config = parseConfig(row);
    const ranked = JSON.parse(row.candidates) as RankedOffer[];
    const size = config.strategy === "race" ? config.batch_size : 1;
    const batch = row.batch + 1;
    let next = row.next_candidate;
    let launched = 0;
    // The batch number marks the attempt: after a crash, candidates already created for this
    // batch are counted instead of rented again.
    const existing = (await this.options.deployments.candidates(row.id)).filter((c) => c.batch === batch).length;
    launched = existing;
    while (launched < size && next < ranked.length) {
      const candidate = ranked[next];
      next += 1;
      if (!candidate) continue;
      if (!(await ctx.holdLease())) return { requeueInMs: 0 };
      const bid =
        config.machine_type === "interruptible"
          ? (config.bid_price ??
            Math.round((candidate.offer.minBid ?? candidate.offer.pricePerHour) * 1.2 * 10_000) / 10_000)
          : undefined;
      let instance: InstanceRow | undefined;
      try {
        instance = await this.options.instances.createCandidate(row.owner_id, {
          body: { offer_id: candidate.offer.id, image: config.image, disk_size: config.disk_size, bid_price: bid },
          candidate: { deploymentId: row.id, batch, market: row.market as MarketKind, offer: candidate.offer },
        });
      } catch (error) {
        // The owner's spending cap stops the race renting more; what already races goes on.
        if (!isDumontError(error) || error.code !== "SPENDING_CAP_REACHED") throw error;
        if (launched > 0) break;
        return this.raceLost(row, ctx, `${error.code}: ${error.message}`);
      }
      if (instance) launched += 1;
      await ctx.patch({ next_candidate: next });
    }
    if (launched === 0) {
      // Everything ranked was taken by other races meanwhile: rank again (at most once per batch).
      if (row.batch < config.max_batches && ranked.length > 0) {
        await ctx.transition("searching", "every ranked offer was taken by another race; searching again", {
          batch,
        });
        return { requeueInMs: 0 };
      }
      return this.raceLost(row, ctx, "every remaining offer is taken by another deployment or none is left");
    }
    await ctx.transition("waiting", `batch ${batch}: ${launched} machine(s) racing`, {
      batch,
      next_candidate: next,
      batch_started_at: ctx.now(),
    });
    return { requeueInMs: this.options.pollMs };
  }

  private async watchRace(row: DeploymentRow, ctx: Ctx): Promise<ReconcileResult> {
    const config = parseConfig(row);
    const candidates = await this.options.deployments.candidates(row.id);
    for (const candidate of candidates.filter((c) => c.status === "running")) {
      const problem = await this.verify(candidate, config);
      if (problem === undefined) {
        await ctx.transition("ready", `winner ${candidate.id} (batch ${candidate.batch ?? 0})`, {
          winner_instance_id: candidate.id,
          ready_at: ctx.now(),
        });
        return { requeueInMs: 0 };
      }
      await this.dropCandidate(candidate, `failed verification: ${problem}`);
      await this.recordVerificationFailure(candidate, problem);
    }
    const alive = candidates.filter((c) => LIVE.includes(c.status as InstanceStatus));
    const ranked = JSON.parse(row.candidates) as RankedOffer[];
    const moreOffers = row.next_candidate < ranked.length;
    const moreBatches = config.strategy === "race" ? row.batch < config.max_batches : row.batch < config.max_batches;
    const batchAge = ctx.now() - (row.batch_started_at ?? ctx.now());
    const batchDead = candidates
      .filter((c) => c.batch === row.batch)
      .every((c) => !LIVE.includes(c.status as InstanceStatus));
    // Sequential waits for its one machine to fail; the race also opens a batch on a timer,
    // while earlier batches stay in the race.
    const timeForNext =
      config.strategy === "race" ? batchDead || batchAge >= config.batch_timeout_seconds * 1000 : batchDead;
    if (timeForNext && moreOffers && moreBatches) {
      await ctx.transition(
        "creating",
        batchDead ? `batch ${row.batch} failed` : `batch ${row.batch} not ready in ${config.batch_timeout_seconds} s`,
      );
      return { requeueInMs: 0 };
    }
    if (alive.length === 0 && (!moreOffers || !moreBatches)) {
      return this.raceLost(row, ctx, `no machine became ready (${candidates.length} tried)`);
    }
    return { requeueInMs: this.options.pollMs };
  }

  /**
   * The winner is ready for use while the losers go: clients need not wait for them. `completed`
   * still means every other candidate is confirmed destroyed (jobs and billing rely on that).
   * Each loser's destruction makes this row due again (see wakeDependents), so the wait is short.
   */
  private async keepWinner(row: DeploymentRow, ctx: Ctx): Promise<ReconcileResult> {
    if (row.winner_instance_id && this.options.onWinner) {
      await this.options.onWinner(row, parseConfig(row), row.winner_instance_id);
    }
    return this.destroyOthers(row, ctx, {
      keep: row.winner_instance_id,
      outcome: "completed",
      reason: "lost the race",
    });
  }

  /** A failed or cancelled race: every candidate is destroyed, and we wait for the marketplace to confirm. */
  private async cleanup(row: DeploymentRow, ctx: Ctx): Promise<ReconcileResult> {
    // A row that entered cleanup with a winner (before `ready` could end by itself) still keeps it.
    const keep = row.outcome === "completed" ? row.winner_instance_id : null;
    const outcome = (row.outcome ?? "failed") as "completed" | "failed" | "cancelled";
    const reason = row.outcome === "cancelled" ? "deployment cancelled" : "deployment ended";
    return this.destroyOthers(row, ctx, { keep, outcome, reason });
  }

  private async destroyOthers(
    row: DeploymentRow,
    ctx: Ctx,
    end: { keep: string | null; outcome: "completed" | "failed" | "cancelled"; reason: string },
  ): Promise<ReconcileResult> {
    await this.dropAll(row, end.keep, end.reason);
    const candidates = await this.options.deployments.candidates(row.id);
    const pending = candidates.filter(
      (c) => c.id !== end.keep && !isTerminal(INSTANCE_MACHINE, c.status as InstanceStatus),
    );
    if (pending.length > 0) return { requeueInMs: this.options.pollMs };
    const others = candidates.length - (end.keep ? 1 : 0);
    await ctx.transition(end.outcome, `${others} other candidate(s) destroyed`, { outcome: end.outcome });
    return { requeueInMs: 0 };
  }

  private async raceLost(row: DeploymentRow, ctx: Ctx, error: string): Promise<ReconcileResult> {
    await ctx.transition("cleanup", error, { outcome: "failed", error });
    return { requeueInMs: 0 };
  }

  private async dropAll(row: DeploymentRow, keep: string | null, reason: string): Promise<void> {
    const candidates = await this.options.deployments.candidates(row.id);
    for (const candidate of candidates) {
      if (candidate.id !== keep && LIVE.includes(candidate.status as InstanceStatus))
        await this.dropCandidate(candidate, reason);
    }
  }

  private async dropCandidate(candidate: InstanceRow, reason: string): Promise<void> {
    await this.options.store.transition<InstanceStatus, InstanceRow>({
      table: "instances",
      machine: INSTANCE_MACHINE,
      id: candidate.id,
      to: "destroying",
      reason,
      actor: `deployment:${candidate.deployment_id ?? ""}`,
      from: LIVE,
      nextRunInMs: 0,
      now: Date.now(),
    });
  }

  /**
   * Ready means more than running: SSH works, the GPUs are visible, and the disk is there. The
   * instance's boot probe saw all three in the session that found it up; a row without those facts
   * (from before they were recorded) is probed again here.
   */
  private async verify(candidate: InstanceRow, config: DeployConfig): Promise<string | undefined> {
    if (!candidate.ssh_host || !candidate.ssh_port) return "no SSH endpoint";
    let facts: ProbeFacts;
    if (candidate.probed_gpus !== null) {
      facts = { gpus: candidate.probed_gpus, diskKb: candidate.probed_disk_kb };
    } else {
      const key = await this.options.sshKeys.controlKey(candidate.owner_id);
      try {
        facts = await probeMachine(
          { host: candidate.ssh_host, port: candidate.ssh_port, user: "root" },
          key.privateKey,
        );
      } catch (error) {
        return `SSH check failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    if (!(facts.gpus >= config.num_gpus)) return `nvidia-smi shows ${facts.gpus} GPU(s), wanted ${config.num_gpus}`;
    const diskGb = (facts.diskKb ?? 0) / 1024 / 1024;
    if (diskGb > 0 && diskGb + 1 < config.disk_size) {
      return `disk is ${diskGb.toFixed(0)} GB, wanted ${config.disk_size} GB`;
    }
    return undefined;
  }

  private async recordVerificationFailure(candidate: InstanceRow, problem: string): Promise<void> {
    if (!candidate.host_machine_id) return;
    await this.options.history.record({
      provider: candidate.provider,
      machineId: candidate.host_machine_id,
      offerId: candidate.offer_id,
      instanceId: candidate.id,
      userId: candidate.owner_id,
      gpuName: candidate.gpu_name,
      numGpus: candidate.num_gpus,
      pricePerHour: candidate.price_per_hour,
      geolocation: candidate.geolocation,
      success: false,
      failureStage: "verifying",
      failureReason: problem,
      timeToReadyS: null,
      // The machine booted (recorded as a success); our checks are the later verdict on it.
      replace: true,
    });
  }
}

export function parseConfig(row: DeploymentRow): DeployConfig {
  return StoredDeployConfig.parse(JSON.parse(row.config));
}

type DefaultedField = "speed" | "max_price" | "min_disk" | "region" | "num_gpus";

/** The search fields a deployment left at the wizard's defaults, so an empty search names them as such. */
function defaultedFields(config: DeployConfig): DefaultedField[] {
  const fields: DefaultedField[] = [];
  if (config.num_gpus === 1) fields.push("num_gpus");
  if (config.speed === WIZARD_DEFAULTS.speed) fields.push("speed");
  if (config.max_price === WIZARD_DEFAULTS.maxPrice) fields.push("max_price");
  if (config.disk_size === WIZARD_DEFAULTS.diskGb) fields.push("min_disk");
  if (config.region === WIZARD_DEFAULTS.region) fields.push("region");
  return fields;
}

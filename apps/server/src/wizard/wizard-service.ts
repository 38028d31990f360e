import {
  DEPLOYMENT_MACHINE,
  DumontError,
  SPEED_TIERS,
  WIZARD_DEFAULTS,
  billedSeconds,
  machineCost,
  notFound,
  roundCostUsd,
  type DeploymentStatus,
  type InstanceStatus,
} from "@dumont/core";
import type { ControlledStore, DeploymentRow, DeploymentsRepository, InstanceRow } from "@dumont/db";
import { REGIONS } from "@dumont/providers";
import type { z } from "zod";
import type { DeployBody } from "@dumont/core";
import type { MarketRegistry } from "../market/market-registry";
import type { InstanceService } from "../instances/instance-service";
import { newId } from "../security/tokens";
import { parseConfig } from "../wizard/deployment-controller";
import { iso } from "../server-context";

type DeployInput = z.output<typeof DeployBody>;

/** The deploy wizard's API side: start a race, show its progress, cancel it, preview offers. */
export class WizardService {
  constructor(
    private readonly deps: {
      deployments: DeploymentsRepository;
      store: ControlledStore;
      markets: MarketRegistry;
      instances: InstanceService;
      wake: () => void;
      now: () => number;
    },
  ) {}

  /**
   * Starts a race. A caller that must never lose track of it (a job) passes the id it already
   * recorded; deploying the same id again returns the existing deployment.
   */
  async deploy(userId: string, config: DeployInput, id?: string): Promise<DeploymentRow> {
    if (id !== undefined) {
      const existing = await this.deps.deployments.findOwned(userId, id);
      if (existing) return existing;
    }
    if (config.bid_price !== undefined && config.machine_type !== "interruptible") {
      throw new DumontError({
        code: "VALIDATION_FAILED",
        message: "bid_price only applies to machine_type interruptible",
      });
    }
    const market = await this.deps.markets.kindFor(userId);
    const now = this.deps.now();
    const row: DeploymentRow = {
      id: id ?? newId("dep"),
      owner_id: userId,
      status: DEPLOYMENT_MACHINE.initial,
      lease_owner: null,
      lease_expires_at: null,
      next_run_at: now,
      created_at: now,
      updated_at: now,
      strategy: config.strategy,
      config: JSON.stringify(config),
      market,
      candidates: "[]",
      next_candidate: 0,
      batch: 0,
      batch_started_at: null,
      offers_found: 0,
      winner_instance_id: null,
      outcome: null,
      error: null,
      ready_at: null,
    };
    await this.deps.store.insertCreated("deployments", row, {
      reason: `${config.strategy} for ${config.gpu_name ?? "any GPU"} ≤ $${config.max_price}/h`,
      actor: `user:${userId}`,
    });
    this.deps.wake();
    return row;
  }

  async get(userId: string, id: string): Promise<DeploymentRow> {
    const row = await this.deps.deployments.findOwned(userId, id);
    if (!row) throw notFound("deployment", id);
    return row;
  }

  async cancel(userId: string, id: string): Promise<DeploymentRow> {
    await this.get(userId, id);
    const row = await this.deps.store.transitionOrThrow<DeploymentStatus, DeploymentRow>({
      table: "deployments",
      machine: DEPLOYMENT_MACHINE,
      id,
      ownerId: userId,
      from: ["searching", "creating", "waiting", "ready"],
      to: "cleanup",
      reason: "cancelled by user",
      actor: `user:${userId}`,
      patch: { outcome: "cancelled", winner_instance_id: null },
      nextRunInMs: 0,
      now: this.deps.now(),
    });
    this.deps.wake();
    return row;
  }

  /** The API view: configuration, live progress and one line per candidate. */
  async view(row: DeploymentRow) {
    const candidates = await this.deps.deployments.candidates(row.id);
    const winner = candidates.find((c) => c.id === row.winner_instance_id);
    const destroyedStatuses: readonly string[] = ["destroyed", "failed"];
    const now = this.deps.now();
    const costs = candidates.map((c) => roundCostUsd(machineCost(c, now)));
    return {
      id: row.id,
      status: row.status as DeploymentStatus,
      strategy: row.strategy as "race" | "sequential",
      config: parseConfig(row),
      progress: {
        batch: row.batch,
        offers_found: row.offers_found,
        tried: row.next_candidate,
        created: candidates.filter((c) => c.machine_id !== null).length,
        destroyed: candidates.filter((c) => destroyedStatuses.includes(c.status)).length,
      },
      candidates: candidates.map((c, i) => ({
        instance_id: c.id,
        offer_id: c.offer_id,
        host_id: c.host_machine_id,
        batch: c.batch ?? 0,
        gpu_name: c.gpu_name,
        dph_total: c.price_per_hour,
        status: c.status as InstanceStatus,
        error: c.error,
        seconds: secondsOf(c, now),
        cost_usd: costs[i] ?? 0,
      })),
      winner_instance_id: row.winner_instance_id,
      ssh_command:
        winner?.ssh_host && winner.ssh_port && winner.status === "running"
          ? `ssh -p ${winner.ssh_port} root@${winner.ssh_host}`
          : null,
      time_to_ready_seconds: row.ready_at === null ? null : Math.round((row.ready_at - row.created_at) / 100) / 10,
      error: row.error,
      simulated: row.market === "embedded",
      total_cost_usd: roundCostUsd(costs.reduce((sum, cost) => sum + cost, 0)),
      created_at: iso(row.created_at),
      updated_at: iso(row.updated_at),
    };
  }

  async offersPreview(userId: string, query: { gpu_name?: string | undefined; region: string; max_price: number }) {
    const { offers, market } = await this.deps.instances.offers(userId, {
      gpu_name: query.gpu_name,
      region: query.region,
      max_price: query.max_price,
      machine_type: "on-demand",
      order: "price",
      limit: 500,
    });
    const tier = (name: keyof typeof SPEED_TIERS) => {
      const band = SPEED_TIERS[name];
      const inTier = offers.filter(
        (o) => o.inetDownMbps >= band.minMbps && (band.maxMbps === undefined || o.inetDownMbps < band.maxMbps),
      );
      const prices = inTier.map((o) => o.pricePerHour);
      return {
        count: inTier.length,
        min_price: prices.length ? Math.min(...prices) : null,
        max_price: prices.length ? Math.max(...prices) : null,
        avg_speed: inTier.length ? Math.round(inTier.reduce((n, o) => n + o.inetDownMbps, 0) / inTier.length) : null,
        gpus: [...new Set(inTier.map((o) => o.gpuName))].slice(0, 5),
      };
    };
    return {
      total_offers: offers.length,
      tiers: { slow: tier("slow"), medium: tier("medium"), fast: tier("fast"), ultra: tier("ultra") },
      simulated: market.simulated,
    };
  }

  config() {
    return {
      speed_tiers: Object.entries(SPEED_TIERS).map(([id, band]) => ({
        id,
        min_speed: band.minMbps,
        max_speed: band.maxMbps ?? null,
      })),
      regions: ["global", ...Object.keys(REGIONS)],
      strategies: ["race", "sequential"],
      defaults: {
        speed: WIZARD_DEFAULTS.speed,
        max_price: WIZARD_DEFAULTS.maxPrice,
        region: WIZARD_DEFAULTS.region,
        disk_size: WIZARD_DEFAULTS.diskGb,
        batch_size: WIZARD_DEFAULTS.batchSize,
        max_batches: WIZARD_DEFAULTS.maxBatches,
        batch_timeout_seconds: WIZARD_DEFAULTS.batchTimeoutSeconds,
      },
      scoring:
        "score = 0.4 × (1 − price / max_price) + 0.3 × marketplace reliability + 0.3 × our success rate with the host (0.5 if never tried); blacklisted hosts are left out",
    };
  }
}

function secondsOf(instance: InstanceRow, now: number): number | null {
  const seconds = billedSeconds(instance, now);
  return seconds === null ? null : Math.round(seconds * 10) / 10;
}

import {
  DumontError,
  INSTANCE_MACHINE,
  SPEED_TIERS,
  notFound,
  reliabilityStatus,
  type InstanceStatus,
  type ReliabilityStatus,
  type SpeedTier,
} from "@dumont/core";
import type { HistoryService } from "../history/history-service";
import type {
  ControlledStore,
  DeploymentsRepository,
  EventsRepository,
  InstanceRow,
  InstancesRepository,
} from "@dumont/db";
import { countriesFor, type Offer, type OfferQuery, type Provider } from "@dumont/providers";
import type { MarketDescription, MarketKind, MarketRegistry } from "../market/market-registry";
import { newId } from "../security/tokens";
import type { SpendingService } from "../spending/spending-service";
import { machineLabel } from "../instances/machine-label";
import type { SecretBox } from "../security/secret-box";
import { sealEnv } from "../security/sealed-env";

export interface OfferSearch {
  gpu_name?: string | undefined;
  num_gpus?: number | undefined;
  min_gpu_ram?: number | undefined;
  max_price?: number | undefined;
  region?: string | undefined;
  min_reliability?: number | undefined;
  verified_only?: boolean | undefined;
  machine_type: "on-demand" | "interruptible";
  speed?: SpeedTier | undefined;
  min_disk?: number | undefined;
  preset?: "test" | undefined;
  order: "price" | "score";
  limit: number;
  include_blacklisted?: boolean | undefined;
}

/** What renting an offer takes (the API body after defaults). */
export interface NewInstanceBody {
  offer_id: string;
  image: string;
  disk_size: number;
  label?: string | undefined;
  bid_price?: number | undefined;
  env?: Record<string, string> | undefined;
  onstart?: string | undefined;
}

/** What the wizard adds when it rents a candidate: its deployment and the offer it came from. */
export interface WizardCandidate {
  deploymentId: string;
  batch: number;
  market: MarketKind;
  offer: Offer;
}

export interface AnnotatedOffer extends Offer {
  isBlacklisted: boolean;
  blacklistReason: string | null;
  successRate: number | null;
  totalAttempts: number;
  reliabilityStatus: ReliabilityStatus;
}

/** The seed's policy for cheap test machines, as a preset anyone can ask for. */
const TEST_PRESET = { maxPrice: 0.1, region: "US,EU,BR,CA", minReliability: 0.9 } as const;

export class InstanceService {
  constructor(
    private readonly deps: {
      markets: MarketRegistry;
      instances: InstancesRepository;
      events: EventsRepository;
      store: ControlledStore;
      history: HistoryService;
      deployments: DeploymentsRepository;
      /** Every rental on the server's account passes its spending cap check. */
      spending: SpendingService;
      /** Goes into every machine label, so the orphan collector knows our machines from others'. */
      installationId: string;
      /** Seals the env at rest (it often holds secrets). */
      box: SecretBox;
      wake: () => void;
      now: () => number;
    },
  ) {}

  async offers(userId: string, search: OfferSearch): Promise<{ offers: AnnotatedOffer[]; market: MarketDescription }> {
    const provider = await this.deps.markets.providerFor(userId);
    const preset = search.preset === "test" ? TEST_PRESET : undefined;
    let countries: string[] | undefined;
    try {
      countries = countriesFor(search.region ?? preset?.region);
    } catch (error) {
      throw new DumontError({
        code: "VALIDATION_FAILED",
        message: (error as Error).message,
        details: { field: "region" },
      });
    }
    const tier = search.speed ? SPEED_TIERS[search.speed] : undefined;
    const query: OfferQuery = {
      gpuName: search.gpu_name,
      numGpus: search.num_gpus,
      minGpuRamGb: search.min_gpu_ram,
      maxPricePerHour: minDefined(search.max_price, preset?.maxPrice),
      countries,
      minReliability: search.min_reliability ?? preset?.minReliability,
      verifiedOnly: search.verified_only,
      machineType: search.machine_type,
      minInetDownMbps: tier?.minMbps,
      maxInetDownMbps: tier?.maxMbps,
      minDiskGb: search.min_disk,
      limit: search.limit,
      order: preset ? "price" : search.order,
    };
    const offers = await provider.searchOffers(query);
    return {
      offers: await this.annotate(userId, provider.name, offers, search.include_blacklisted ?? false),
      market: this.deps.markets.describe(provider),
    };
  }

  /** Adds what our history knows of each offer's host, and drops blacklisted hosts unless asked. */
  async annotate(
    userId: string,
    provider: string,
    offers: Offer[],
    includeBlacklisted: boolean,
  ): Promise<AnnotatedOffer[]> {
    const hosts = [...new Set(offers.map((o) => o.machineId))];
    const [blacklist, stats] = await Promise.all([
      this.deps.history.blacklistedHosts(userId, provider, hosts),
      this.deps.history.statsFor(provider, hosts),
    ]);
    return offers
      .map((offer) => {
        const entry = blacklist.get(offer.machineId);
        const host = stats.get(offer.machineId);
        const rate = host && host.total > 0 ? host.successes / host.total : null;
        return {
          ...offer,
          isBlacklisted: entry !== undefined,
          blacklistReason: entry?.reason ?? null,
          successRate: rate === null ? null : Math.round(rate * 1000) / 1000,
          totalAttempts: host?.total ?? 0,
          reliabilityStatus: reliabilityStatus(host?.total ?? 0, rate ?? 0),
        };
      })
      .filter((offer) => includeBlacklisted || !offer.isBlacklisted);
  }

  async create(userId: string, body: NewInstanceBody): Promise<InstanceRow> {
    const market = await this.deps.markets.kindFor(userId);
    const provider = await this.deps.markets.providerFor(userId, market);
    if (body.bid_price !== undefined && !provider.capabilities.supportsInterruptible) {
      throw new DumontError({ code: "VALIDATION_FAILED", message: `${provider.name} has no interruptible machines` });
    }
    const row = this.newRow(userId, body, market, undefined);
    // A capped rental must know its price before it is admitted: the bid, or the offer's own.
    if (body.bid_price === undefined && (await this.deps.spending.capsApply(userId, market))) {
      row.price_per_hour = await offerPrice(provider, body.offer_id);
    }
    await this.deps.spending.admit(userId, market, row.price_per_hour, async () => {
      await this.deps.instances.insert(row);
      await this.deps.events.append(this.creationEvent(row));
    });
    this.deps.wake();
    return row;
  }

  private newRow(
    userId: string,
    body: NewInstanceBody,
    market: MarketKind,
    candidate: WizardCandidate | undefined,
  ): InstanceRow {
    const now = this.deps.now();
    const id = newId("ins");
    return {
      id,
      owner_id: userId,
      status: INSTANCE_MACHINE.initial,
      lease_owner: null,
      lease_expires_at: null,
      next_run_at: now,
      created_at: now,
      updated_at: now,
      market,
      provider: "vast.ai",
      machine_id: null,
      offer_id: body.offer_id,
      // Our installation and instance ids go into the marketplace label before anything else can fail.
      label: machineLabel(this.deps.installationId, id),
      user_label: body.label ?? null,
      gpu_name: candidate?.offer.gpuName ?? "pending",
      num_gpus: candidate?.offer.numGpus ?? 0,
      price_per_hour: body.bid_price ?? candidate?.offer.pricePerHour ?? 0,
      bid_price: body.bid_price ?? null,
      image: body.image,
      disk_gb: body.disk_size,
      env: sealEnv(this.deps.box, body.env ?? {}),
      onstart: body.onstart ?? null,
      geolocation: candidate?.offer.geolocation ?? null,
      host_machine_id: candidate?.offer.machineId ?? null,
      ssh_host: null,
      ssh_port: null,
      status_message: null,
      error: null,
      create_attempted_at: null,
      ready_at: null,
      deployment_id: candidate?.deploymentId ?? null,
      batch: candidate?.batch ?? null,
    };
  }

  private creationEvent(row: InstanceRow) {
    return {
      resource_type: "instances",
      resource_id: row.id,
      owner_id: row.owner_id,
      from_status: null,
      to_status: row.status,
      reason: row.deployment_id
        ? `candidate of ${row.deployment_id} (batch ${row.batch ?? 0}), offer ${row.offer_id}`
        : `rent offer ${row.offer_id}`,
      actor: row.deployment_id ? `deployment:${row.deployment_id}` : `user:${row.owner_id}`,
      created_at: row.created_at,
    };
  }

  /**
   * Rents a wizard candidate: the instance row, its offer claim and its event are written
   * together, so no two deployments (on any replica) can rent the same offer. Undefined when the
   * offer is already claimed.
   */
  async createCandidate(
    userId: string,
    input: { body: NewInstanceBody; candidate: WizardCandidate },
  ): Promise<InstanceRow | undefined> {
    const row = this.newRow(userId, input.body, input.candidate.market, input.candidate);
    const inserted = await this.deps.spending.admit(userId, row.market as MarketKind, row.price_per_hour, () =>
      this.deps.deployments.insertCandidate({
        instance: row,
        event: this.creationEvent(row),
        now: row.created_at,
      }),
    );
    if (!inserted) return undefined;
    this.deps.wake();
    return row;
  }

  async get(userId: string, id: string): Promise<InstanceRow> {
    const row = await this.deps.instances.findOwned(userId, id);
    if (!row) throw notFound("instance", id);
    return row;
  }

  /** A user action: pause, resume or delete, each a guarded transition the controller then carries out. */
  async act(userId: string, id: string, action: "pause" | "resume" | "delete"): Promise<InstanceRow> {
    const row = await this.get(userId, id);
    const to: InstanceStatus = action === "pause" ? "pausing" : action === "resume" ? "resuming" : "destroying";
    const from: Record<typeof action, readonly InstanceStatus[]> = {
      pause: ["running"],
      resume: ["paused"],
      delete: ["creating", "booting", "running", "pausing", "paused", "resuming"],
    };
    if (action === "delete" && (row.status === "destroying" || row.status === "destroyed")) return row;
    const transition = () =>
      this.deps.store.transitionOrThrow<InstanceStatus, InstanceRow>({
        table: "instances",
        machine: INSTANCE_MACHINE,
        id,
        ownerId: userId,
        from: from[action],
        to,
        reason: `${action} requested by user`,
        actor: `user:${userId}`,
        nextRunInMs: 0,
        now: this.deps.now(),
      });
    // Resuming starts paying for the GPU again: a rental like any other for the spending cap.
    const updated =
      action === "resume"
        ? await this.deps.spending.admit(userId, row.market as MarketKind, row.price_per_hour, transition)
        : await transition();
    this.deps.wake();
    return updated;
  }
}

/** The current price of an offer, or OFFER_UNAVAILABLE when the market no longer lists it. */
async function offerPrice(provider: Provider, offerId: string): Promise<number> {
  const [offer] = await provider.searchOffers({ offerId, machineType: "on-demand", limit: 1, order: "price" });
  if (!offer) {
    throw new DumontError({
      code: "OFFER_UNAVAILABLE",
      message: `offer ${offerId} is not available (rented by someone else or withdrawn)`,
      hint: "Pick another one from `dumont instance offers`.",
    });
  }
  return offer.pricePerHour;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

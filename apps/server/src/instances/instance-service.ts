import {
  DEFAULT_DISK_GB,
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
import type { ControlledStore, DeploymentsRepository, InstanceRow, InstancesRepository } from "@dumont/db";
import { countriesFor, type Offer, type OfferQuery, type Provider } from "@dumont/providers";
import type { MarketDescription, MarketKind, MarketRegistry } from "../market/market-registry";
import { newId } from "../security/tokens";
import type { SpendingService } from "../spending/spending-service";
import { machineLabel } from "../instances/machine-label";
import type { SecretBox } from "../security/secret-box";
import { sealEnv } from "../security/sealed-env";
import { explainEmptySearch, type SearchFilter } from "./empty-search";

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
  /** GB of disk the prices include (the disk that will be rented). */
  disk_size?: number | undefined;
  preset?: "test" | undefined;
  order: "price" | "score";
  limit: number;
  include_blacklisted?: boolean | undefined;
  /** Fields that hold a default rather than the user's choice, so an empty search can say so. */
  defaults?: readonly (keyof OfferSearch)[] | undefined;
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

  async offers(
    userId: string,
    search: OfferSearch,
  ): Promise<{ offers: AnnotatedOffer[]; market: MarketDescription; emptyReason: string | null }> {
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
      allocatedStorageGb: search.disk_size ?? DEFAULT_DISK_GB,
      limit: search.limit,
      order: preset ? "price" : search.order,
    };
    const offers = await provider.searchOffers(query);
    const annotated = await this.annotate(userId, provider.name, offers, search.include_blacklisted ?? false);
    const emptyReason =
      annotated.length > 0
        ? null
        : await explainEmptySearch(provider, query, searchFilters(search, query, preset !== undefined), async (left) =>
            search.include_blacklisted
              ? []
              : (await this.annotate(userId, provider.name, left, true)).filter((o) => o.isBlacklisted),
          );
    return { offers: annotated, market: this.deps.markets.describe(provider), emptyReason };
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
        // Abandoned rentals (race losers) say nothing about the host: rates count decided ones only.
        const decided = host ? host.total - host.abandoned : 0;
        const rate = host && decided > 0 ? host.successes / decided : null;
        return {
          ...offer,
          isBlacklisted: entry !== undefined,
          blacklistReason: entry?.reason ?? null,
          successRate: rate === null ? null : Math.round(rate * 1000) / 1000,
          totalAttempts: decided,
          reliabilityStatus: reliabilityStatus(decided, rate ?? 0),
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
    // The offer is looked up first: a capped rental must know its price before it is admitted, and
    // the new instance shows its GPU and the price it bills at (for its disk) from the start.
    const offer = await currentOffer(provider, body);
    const row = this.newRow(userId, body, market, { offer });
    await this.deps.spending.admit(userId, market, row.price_per_hour, async () => {
      const { reason, actor } = this.creationEvent(row);
      await this.deps.store.insertCreated("instances", row, { reason, actor });
    });
    this.deps.wake();
    return row;
  }

  private newRow(
    userId: string,
    body: NewInstanceBody,
    market: MarketKind,
    origin: { offer: Offer; candidate?: WizardCandidate },
  ): InstanceRow {
    const now = this.deps.now();
    const { offer, candidate } = origin;
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
      gpu_name: offer.gpuName,
      num_gpus: offer.numGpus,
      price_per_hour: priceFor(offer, body),
      bid_price: body.bid_price ?? null,
      image: body.image,
      disk_gb: body.disk_size,
      env: sealEnv(this.deps.box, body.env ?? {}),
      onstart: body.onstart ?? null,
      geolocation: offer.geolocation,
      host_machine_id: offer.machineId,
      ssh_host: null,
      ssh_port: null,
      status_message: null,
      error: null,
      create_attempted_at: null,
      ready_at: null,
      probed_gpus: null,
      probed_disk_kb: null,
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
    const row = this.newRow(userId, input.body, input.candidate.market, {
      offer: input.candidate.offer,
      candidate: input.candidate,
    });
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

/** The offer as the market lists it now, priced for the disk asked; OFFER_UNAVAILABLE when it no longer does. */
async function currentOffer(provider: Provider, body: NewInstanceBody): Promise<Offer> {
  const [offer] = await provider.searchOffers({
    offerId: body.offer_id,
    machineType: body.bid_price === undefined ? "on-demand" : "interruptible",
    allocatedStorageGb: body.disk_size,
    limit: 1,
    order: "price",
  });
  if (!offer) {
    throw new DumontError({
      code: "OFFER_UNAVAILABLE",
      message: `offer ${body.offer_id} is not available (rented by someone else or withdrawn)`,
      hint: "Pick another one from `dumont instance offers`.",
    });
  }
  return offer;
}

/**
 * $/h a new machine bills at until the market reports its own figure: the offer's price for this
 * disk, or for a bid, the bid plus the offer's storage for this disk (Vast bills storage on top).
 */
function priceFor(offer: Offer, body: NewInstanceBody): number {
  if (body.bid_price === undefined) return offer.pricePerHour;
  const storage = offer.storageCostPerGbMonth ?? 0;
  return Math.round((body.bid_price + (body.disk_size * storage) / 720) * 1_000_000) / 1_000_000;
}

/**
 * The search's filters as the user named them, in the order an empty search is explained:
 * what the machine is first, then where, price and quality, then the speed tier.
 */
function searchFilters(search: OfferSearch, query: OfferQuery, preset: boolean): SearchFilter[] {
  const note = (field: keyof OfferSearch, fromPreset = false) =>
    search.defaults?.includes(field) ? " (default)" : fromPreset && search[field] === undefined ? " (preset test)" : "";
  const filters: SearchFilter[] = [];
  const add = (label: string, only: Partial<OfferQuery>) => filters.push({ label, only });
  if (query.gpuName !== undefined) add(`gpu_name=${query.gpuName}${note("gpu_name")}`, { gpuName: query.gpuName });
  if (query.numGpus !== undefined) add(`num_gpus=${query.numGpus}${note("num_gpus")}`, { numGpus: query.numGpus });
  if (query.minGpuRamGb !== undefined) add(`min_gpu_ram=${query.minGpuRamGb}`, { minGpuRamGb: query.minGpuRamGb });
  if (query.countries !== undefined)
    add(`region=${search.region ?? "US,EU,BR,CA"}${note("region", preset)}`, { countries: query.countries });
  if (query.maxPricePerHour !== undefined)
    add(`max_price=${query.maxPricePerHour}${note("max_price", preset)}`, { maxPricePerHour: query.maxPricePerHour });
  if (query.minReliability !== undefined)
    add(`min_reliability=${query.minReliability}${note("min_reliability", preset)}`, {
      minReliability: query.minReliability,
    });
  if (query.verifiedOnly) add("verified_only=true", { verifiedOnly: true });
  if (query.minDiskGb !== undefined)
    add(`min_disk=${query.minDiskGb} GB${note("min_disk")}`, { minDiskGb: query.minDiskGb });
  if (search.speed !== undefined) {
    const tier = SPEED_TIERS[search.speed];
    const range = tier.maxMbps === undefined ? `≥ ${tier.minMbps}` : `${tier.minMbps}–${tier.maxMbps}`;
    add(`speed=${search.speed} (${range} Mb/s down)${note("speed")}`, {
      minInetDownMbps: query.minInetDownMbps,
      maxInetDownMbps: query.maxInetDownMbps,
    });
  }
  return filters;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

import { round } from "../random";
import { countryOf, geolocationText } from "./geography";
import { generateMachines } from "./market-generator";
import { freeGpus, minBidFor, type Machine } from "./machine";

/** A value an offer field can hold. */
export type FieldValue = string | number | boolean | null | readonly number[] | Readonly<Record<string, number>>;

/** A rentable slice of a machine: Vast lists 1×, 2×, 4× and 8× offers that overlap. */
export interface OfferSlot {
  /** The offer id (= `ask_contract_id`), stable per (machine, slice). */
  id: number;
  machine: Machine;
  numGpus: number;
  diskSpaceGb: number;
  /** Fields that never change, computed once (search over 10,000 offers stays cheap). */
  fixed: Readonly<Record<string, FieldValue>>;
}

export type PricingType = "on-demand" | "bid" | "reserved";

/** What a search prices with and for whom (`rented` is per caller). */
export interface PricingContext {
  type: PricingType;
  allocatedStorageGb: number;
  nowS: number;
  host: string;
  /** Machines the caller rents GPUs on. */
  rentedMachines: ReadonlySet<number>;
}

export const DEFAULT_ALLOCATED_STORAGE_GB = 8;
const SLICES = [1, 2, 4, 8] as const;

/** The machines and their offers, with GPU occupancy. */
export class Market {
  readonly machines: readonly Machine[];
  readonly slots: readonly OfferSlot[];
  private readonly byOfferId = new Map<number, OfferSlot>();
  private readonly byMachineId = new Map<number, Machine>();

  constructor(options: { seed: number; machines: number; nowS: number }) {
    this.machines = generateMachines(options);
    const slots: OfferSlot[] = [];
    this.machines.forEach((machine, index) => {
      this.byMachineId.set(machine.machineId, machine);
      SLICES.forEach((numGpus, sliceIndex) => {
        if (numGpus > machine.gpuCount) return;
        const slot: OfferSlot = {
          id: 20_000_000 + index * 8 + sliceIndex,
          machine,
          numGpus,
          diskSpaceGb: round((machine.diskTotalGb * numGpus) / machine.gpuCount, 1),
          fixed: {},
        };
        slot.fixed = fixedFields(slot);
        slots.push(slot);
        this.byOfferId.set(slot.id, slot);
      });
    });
    this.slots = slots;
  }

  slot(offerId: number): OfferSlot | undefined {
    return this.byOfferId.get(offerId);
  }

  machine(machineId: number): Machine | undefined {
    return this.byMachineId.get(machineId);
  }

  /** Rentable now: the host is online, its listing has not ended, and the slice's GPUs are free. */
  isRentable(slot: OfferSlot, nowS: number): boolean {
    return freeGpus(slot.machine) >= slot.numGpus && nowS < slot.machine.endDateS;
  }
}

/** Fields whose value depends on the pricing context or on occupancy. */
const DYNAMIC_FIELDS = new Set([
  "rentable",
  "rented",
  "is_bid",
  "min_bid",
  "dph_base",
  "storage_total_cost",
  "dph_total",
  "dph_total_adj",
  "dlperf_per_dphtotal",
  "flops_per_dphtotal",
  "vram_costperhour",
  "duration",
  "time_remaining",
  "time_remaining_isbid",
  "search",
  "instance",
  "discount_rate",
  "discounted_hourly",
  "discounted_dph_total",
]);

/**
 * Reads fields of one search row. Filters and sorts touch a few fields of every offer, so the
 * price-dependent part is computed only when one of its fields is asked for, once per row.
 */
export function offerReader(
  slot: OfferSlot,
  ctx: PricingContext,
  market: Market,
): (field: string) => FieldValue | undefined {
  let dynamic: Record<string, FieldValue> | undefined;
  return (field) => {
    if (field === "rentable") return market.isRentable(slot, ctx.nowS);
    if (field === "public_ipaddr") return ctx.host;
    if (!DYNAMIC_FIELDS.has(field)) return slot.fixed[field];
    dynamic ??= dynamicFields(slot, ctx, market);
    return dynamic[field];
  };
}

/** The whole offer object as `POST /bundles/` returns it (vast-api.md §2.3). */
export function offerObject(slot: OfferSlot, ctx: PricingContext, market: Market): Record<string, FieldValue> {
  // Object.assign, not spread: spreading ~100 keys from several sources is ~10× slower in V8,
  // which shows on 10,000-row searches.
  const row: Record<string, FieldValue> = Object.assign({}, slot.fixed, dynamicFields(slot, ctx, market));
  row.public_ipaddr = ctx.host;
  return row;
}

/** Price of `slot` now, split like Vast's `search` object. */
export function priceOf(
  slot: OfferSlot,
  ctx: Pick<PricingContext, "type" | "allocatedStorageGb">,
): { gpuPerHour: number; diskPerHour: number; totalPerHour: number; minBid: number; dphBase: number } {
  const machine = slot.machine;
  const dphBase = round(machine.dphBasePerGpu * slot.numGpus, 6);
  const minBid = round(minBidFor(machine, slot.numGpus), 6);
  const diskPerHour = (ctx.allocatedStorageGb * machine.storageCostPerGbMonth) / 720;
  const gpuPerHour = ctx.type === "bid" ? minBid : dphBase;
  return { gpuPerHour, diskPerHour, totalPerHour: gpuPerHour + diskPerHour, minBid, dphBase };
}

function dynamicFields(slot: OfferSlot, ctx: PricingContext, market: Market): Record<string, FieldValue> {
  const machine = slot.machine;
  const price = priceOf(slot, ctx);
  const dphTotal = round(price.totalPerHour, 6);
  const reserved = ctx.type === "reserved";
  const discountRate = reserved ? 0.25 : 0;
  const breakdown = {
    gpuCostPerHour: round(price.gpuPerHour, 6),
    diskHour: round(price.diskPerHour, 6),
    totalHour: dphTotal,
    discountTotalHour: round(price.gpuPerHour * discountRate, 6),
    discountedTotalPerHour: round(price.totalPerHour - price.gpuPerHour * discountRate, 6),
  };
  const fields: Record<string, FieldValue> = {
    rentable: market.isRentable(slot, ctx.nowS),
    rented: ctx.rentedMachines.has(machine.machineId),
    is_bid: ctx.type === "bid",
    min_bid: price.minBid,
    dph_base: price.dphBase,
    storage_total_cost: round(price.diskPerHour, 7),
    dph_total: dphTotal,
    dph_total_adj: dphTotal,
    dlperf_per_dphtotal: round((machine.model.dlperf * slot.numGpus) / dphTotal, 4),
    flops_per_dphtotal: round((machine.model.tflops * slot.numGpus) / dphTotal, 4),
    vram_costperhour: round(price.dphBase / (machine.model.ramMb * slot.numGpus), 9),
    duration: Math.max(0, round(machine.endDateS - ctx.nowS, 1)),
    time_remaining: describeRemaining(machine.endDateS - ctx.nowS),
    time_remaining_isbid: ctx.type === "bid" ? describeRemaining(machine.endDateS - ctx.nowS) : "",
    search: breakdown,
    instance: breakdown,
    discount_rate: discountRate,
    discounted_hourly: round(price.gpuPerHour * (1 - discountRate), 6),
    discounted_dph_total: breakdown.discountedTotalPerHour,
  };
  return fields;
}

function fixedFields(slot: OfferSlot): Record<string, FieldValue> {
  const m = slot.machine;
  const model = m.model;
  const n = slot.numGpus;
  const frac = n / m.gpuCount;
  const dphBase = m.dphBasePerGpu * n;
  return {
    id: slot.id,
    ask_contract_id: slot.id,
    bundle_id: slot.id + 500_000_000,
    bundled_results: 1,
    machine_id: m.machineId,
    host_id: m.hostId,
    hostname: null,
    cluster_id: null,
    resource_type: "gpu",
    gpu_name: model.name,
    num_gpus: n,
    gpu_ram: model.ramMb,
    gpu_total_ram: model.ramMb * n,
    gpu_frac: round(frac, 4),
    gpu_arch: "nvidia",
    compute_cap: model.computeCap,
    cuda_max_good: m.cudaMaxGood,
    driver_version: m.driverVersion,
    driver_vers: paddedDriver(m.driverVersion),
    gpu_mem_bw: model.memBandwidthGbs,
    gpu_max_power: model.maxPowerW,
    gpu_max_temp: 83,
    gpu_lanes: m.gpuLanes,
    pci_gen: m.pciGen,
    pcie_bw: m.pcieBwGbs,
    bw_nvlink: m.bwNvlinkGbs,
    gpu_display_active: false,
    gpu_ids: Array.from({ length: n }, (_, i) => m.machineId * 10 + i),
    total_flops: round(model.tflops * n, 2),
    dlperf: round(model.dlperf * n, 4),
    cpu_name: m.cpuName,
    cpu_arch: "amd64",
    cpu_cores: m.cpuCores,
    cpu_cores_effective: round(m.cpuCores * frac, 2),
    cpu_ghz: m.cpuGhz,
    cpu_ram: m.cpuRamMb,
    has_avx: 1,
    mobo_name: m.moboName,
    disk_space: slot.diskSpaceGb,
    disk_bw: m.diskBwMbs,
    disk_name: m.diskName,
    inet_up: m.inetUpMbps,
    inet_down: m.inetDownMbps,
    inet_up_cost: m.inetUpCostPerGb,
    inet_down_cost: m.inetDownCostPerGb,
    internet_up_cost_per_tb: round(m.inetUpCostPerGb * 1000, 3),
    internet_down_cost_per_tb: round(m.inetDownCostPerGb * 1000, 3),
    direct_port_count: m.directPortStart < 0 ? 0 : m.directPortEnd - m.directPortStart + 1,
    direct_port_start: m.directPortStart,
    direct_port_end: m.directPortEnd,
    static_ip: m.staticIp,
    geolocation: geolocationText(m.location),
    geolocode: geolocode(countryOf(geolocationText(m.location))),
    country_code: m.location.country,
    verification: m.verification,
    vericode: m.verification === "verified" ? 1 : 0,
    hosting_type: m.hostingType,
    external: false,
    reliability: m.reliability2,
    reliability2: m.reliability2,
    reliability_mult: round(Math.min(1, m.reliability2 ** 2), 4),
    expected_reliability: m.reliability2,
    score: round(((model.dlperf * n) / dphBase) * m.reliability2 ** 4 + 20 * m.hostingType, 4),
    start_date: round(m.listedAtS, 3),
    end_date: round(m.endDateS, 3),
    os_version: "22.04",
    ubuntu_version: "22.04",
    vms_enabled: false,
    is_vm_deverified: false,
    logo: "/static/logos/vastai_small2.png",
    webpage: null,
    storage_cost: m.storageCostPerGbMonth,
    credit_discount_max: 0.4,
    avail_vol_ask_id: null,
    avail_vol_dph: null,
    avail_vol_size: null,
  };
}

/** "535.86.05" → 535086005, as the CLI pads it for comparisons. */
function paddedDriver(version: string): number {
  const [major = "0", minor = "0", patch = "0"] = version.split(".");
  return Number(major) * 1_000_000 + Number(minor) * 1_000 + Number(patch);
}

function geolocode(country: string | null): number {
  if (!country) return 0;
  return (country.charCodeAt(0) - 64) * 100 + (country.charCodeAt(1) - 64);
}

function describeRemaining(seconds: number): string {
  if (seconds <= 0) return "0 D";
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const months = Math.floor(days / 30);
  return months > 0 ? `${months} Mon ${days % 30} D ${hours} Hr` : `${days} D ${hours} Hr`;
}

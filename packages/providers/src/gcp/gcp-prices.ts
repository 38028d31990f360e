import { z } from "zod";
import { DumontError } from "@dumont/core";
// Imported (not read from disk) so the bundler inlines it: dist/server.cjs has no data folder beside it.
import rawPrices from "../../data/gcp-prices.json" with { type: "json" };

/** Hours in a month as cloud providers bill them (GCP's pricing pages use 730). */
export const HOURS_PER_MONTH = 730;

const money = z.number().nonnegative().finite();
const PriceFile = z.object({
  as_of: z.string().min(1),
  region: z.string().min(1),
  currency: z.literal("USD"),
  source: z.array(z.url()).min(1),
  note: z.string(),
  spot_note: z.string(),
  machine_types: z.record(
    z.string(),
    z.object({
      vcpus: z.number().int().positive(),
      shared_core_fraction: z.number().positive().max(1).optional(),
      memory_gb: z.number().positive(),
      on_demand_hourly: money,
      spot_hourly: money,
    }),
  ),
  disks: z.object({
    "pd-standard": z.object({ per_gb_month: money }),
    "pd-balanced": z.object({ per_gb_month: money }),
  }),
});

// Checked once at load: a broken edit of the data file fails every test that touches prices.
const prices = PriceFile.parse(rawPrices);

export type GcpDiskType = keyof typeof prices.disks;

export interface GcpMachineTypePrice {
  name: string;
  vcpus: number;
  /** Shared-core types (e2-micro/small/medium) are billed for this fraction of their vCPUs. */
  shared_core_fraction: number | null;
  memory_gb: number;
  on_demand_hourly: number;
  /** Approximate: spot prices change up to monthly (see `spot_note`). */
  spot_hourly: number;
}

export interface GcpPriceTable {
  /** When the figures were recorded (a month, e.g. "2025-06"). */
  as_of: string;
  /** The public pricing pages the figures come from. */
  source: string[];
  region: string;
  currency: "USD";
  note: string;
  spot_note: string;
  machine_types: GcpMachineTypePrice[];
  disks: Record<GcpDiskType, { per_gb_month: number }>;
}

export interface StandbyPrice {
  /** $/h for the machine itself (spot or on-demand). */
  vmHourly: number;
  /** $/month for its disk. */
  diskMonthly: number;
  /** $/h for both: the machine plus the disk's month spread over 730 hours. */
  hourly: number;
  /** $/month for both (730 hours). */
  monthly: number;
}

export function isKnownMachineType(machineType: string): boolean {
  return Object.hasOwn(prices.machine_types, machineType);
}

/** The standby price table: what the figures are, where they come from, and when. */
export function gcpPriceTable(): GcpPriceTable {
  return {
    as_of: prices.as_of,
    source: [...prices.source],
    region: prices.region,
    currency: prices.currency,
    note: prices.note,
    spot_note: prices.spot_note,
    machine_types: Object.entries(prices.machine_types).map(([name, price]) => ({
      name,
      vcpus: price.vcpus,
      shared_core_fraction: price.shared_core_fraction ?? null,
      memory_gb: price.memory_gb,
      on_demand_hourly: price.on_demand_hourly,
      spot_hourly: price.spot_hourly,
    })),
    disks: { "pd-standard": { ...prices.disks["pd-standard"] }, "pd-balanced": { ...prices.disks["pd-balanced"] } },
  };
}

/**
 * What a standby machine costs by the price table. The disk defaults to pd-standard, the type
 * GCP gives a boot disk when the insert names none (ours names none).
 */
export function standbyHourlyPrice(options: {
  machineType: string;
  diskGb: number;
  spot: boolean;
  diskType?: GcpDiskType;
}): StandbyPrice {
  if (!isKnownMachineType(options.machineType)) {
    const known = Object.keys(prices.machine_types);
    throw new DumontError({
      code: "VALIDATION_FAILED",
      message: `unknown standby machine type ${JSON.stringify(options.machineType.slice(0, 80))}; known: ${known.join(", ")}`,
      details: { field: "machine_type", known },
    });
  }
  if (!Number.isFinite(options.diskGb) || options.diskGb < 0) {
    throw new DumontError({
      code: "VALIDATION_FAILED",
      message: `disk size must be a non-negative number of GB, not ${options.diskGb}`,
      details: { field: "disk_gb" },
    });
  }
  const machine = prices.machine_types[options.machineType];
  const disk = prices.disks[options.diskType ?? "pd-standard"];
  const vmHourly = machine ? (options.spot ? machine.spot_hourly : machine.on_demand_hourly) : 0;
  const diskMonthly = options.diskGb * disk.per_gb_month;
  const hourly = vmHourly + diskMonthly / HOURS_PER_MONTH;
  return {
    vmHourly: round(vmHourly),
    diskMonthly: round(diskMonthly),
    hourly: round(hourly),
    monthly: round(hourly * HOURS_PER_MONTH),
  };
}

// Six decimals: finer than any price on the pages, and no 0.30000000000000004 in API replies.
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

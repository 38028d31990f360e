import { compareRows, conditionsFor, parseOrder, satisfies, type Condition, type SortKey } from "../query";
import { countryOf } from "./geography";
import {
  DEFAULT_ALLOCATED_STORAGE_GB,
  offerObject,
  offerReader,
  type FieldValue,
  type Market,
  type PricingContext,
  type PricingType,
} from "./market";

export const DEFAULT_SEARCH_LIMIT = 64;
export const MAX_SEARCH_LIMIT = 10_000;

/** Keys of the query body that are options, not field filters (vast-api.md §2.2). */
const OPTION_KEYS = new Set([
  "order",
  "type",
  "limit",
  "allocated_storage",
  "disable_bundling",
  "chunked",
  "georegion",
  "select_cols",
  "extra_ids",
]);

export interface SearchCaller {
  nowS: number;
  host: string;
  rentedMachines: ReadonlySet<number>;
}

/**
 * Runs a `POST /bundles/` query. Unknown fields are ignored, as Vast does; `geolocation` compares
 * the country code; `verified` and `datacenter` are the virtual columns Vast derives from
 * `verification` and `hosting_type`; `type: bid` prices rows from `min_bid`.
 */
export function searchOffers(
  market: Market,
  query: Readonly<Record<string, unknown>>,
  caller: SearchCaller,
): Record<string, FieldValue>[] {
  const ctx: PricingContext = {
    type: pricingType(query.type),
    allocatedStorageGb: positiveNumber(query.allocated_storage) ?? DEFAULT_ALLOCATED_STORAGE_GB,
    nowS: caller.nowS,
    host: caller.host,
    rentedMachines: caller.rentedMachines,
  };
  const conditions: Condition[] = [];
  for (const [field, filter] of Object.entries(query)) {
    if (!OPTION_KEYS.has(field)) conditions.push(...conditionsFor(field, filter).map(geolocationText));
  }
  const order: SortKey[] = parseOrder(query.order);
  const keys = order.length > 0 ? order : [{ field: "score", descending: true }];
  const limit = Math.min(positiveNumber(query.limit) ?? DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);

  // Decorate-sort: each row's sort values are read once, not at every comparison.
  const rows: { slotIndex: number; values: (FieldValue | undefined)[] }[] = [];
  market.slots.forEach((slot, slotIndex) => {
    const raw = offerReader(slot, ctx, market);
    const read = (field: string) => virtualField(field, raw);
    for (const condition of conditions) {
      const actual = read(condition.field);
      // Vast accepts unknown keys without error and ignores them.
      if (actual !== undefined && !satisfies(condition, actual)) return;
    }
    rows.push({ slotIndex, values: [...keys.map((k) => read(k.field)), slot.id] });
  });
  const sortKeys = keys.map((k, index) => ({ field: String(index), descending: k.descending }));
  rows.sort((a, b) =>
    compareRows(
      sortKeys,
      (f) => (f === "id" ? a.values[keys.length] : a.values[Number(f)]),
      (f) => (f === "id" ? b.values[keys.length] : b.values[Number(f)]),
    ),
  );
  return rows.slice(0, Math.floor(limit)).map((row, rn) => {
    const slot = market.slots[row.slotIndex];
    if (!slot) throw new Error(`offer row ${row.slotIndex} vanished`);
    const offer = offerObject(slot, ctx, market);
    offer.rn = rn;
    return offer;
  });
}

function virtualField(field: string, read: (field: string) => FieldValue | undefined): FieldValue | undefined {
  switch (field) {
    case "verified":
      return read("verification") === "verified";
    case "datacenter": {
      const hostingType = read("hosting_type");
      return typeof hostingType === "number" && hostingType >= 1;
    }
    case "geolocation": {
      const text = read("geolocation");
      return countryOf(typeof text === "string" ? text : null);
    }
    case GEOLOCATION_TEXT:
      return read("geolocation");
    case "cuda_vers":
      return read("cuda_max_good");
    default:
      return read(field);
  }
}

const GEOLOCATION_TEXT = "geolocation (text)";

/**
 * `geolocation` filters compare the country code ("US"); a value that is not a country code
 * ("Texas, US") is compared with the whole text instead, so such a filter still means something.
 */
function geolocationText(condition: Condition): Condition {
  if (condition.field !== "geolocation") return condition;
  const values = Array.isArray(condition.value) ? (condition.value as unknown[]) : [condition.value];
  const countryCodes = values.every((v) => v === null || (typeof v === "string" && /^[A-Z]{2}$/.test(v)));
  return countryCodes ? condition : { ...condition, field: GEOLOCATION_TEXT };
}

/** Vast accepts every spelling: "on-demand" (CLI), "ondemand" (spec), "bid"/"interruptible", "reserved". */
export function pricingType(value: unknown): PricingType {
  const text = typeof value === "string" ? value.toLowerCase().replace(/[-_ ]/g, "") : "";
  if (text === "bid" || text === "interruptible" || text === "spot") return "bid";
  if (text === "reserved") return "reserved";
  return "on-demand";
}

function positiveNumber(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

import type { Instance } from "../instances/instance";
import type { MarketContext } from "../market-context";
import { compareRows, conditionsFor, parseOrder, satisfies, type Condition, type SortKey } from "../query";
import type { Principal } from "./auth";
import { VastError } from "./vast-error";

/** v1 list: at most 25 rows a page (vast-api.md §3.1 #4). */
const V1_MAX_LIMIT = 25;
/** Columns `select_filters` and `order_by` accept: stored ones. Computed ones (dph_total, num_gpus…) are refused. */
const STORED_COLUMNS = new Set([
  "id",
  "machine_id",
  "host_id",
  "label",
  "actual_status",
  "intended_status",
  "cur_state",
  "next_state",
  "status_msg",
  "gpu_name",
  "verification",
  "is_bid",
  "image_uuid",
  "geolocation",
  "start_date",
  "disk_space",
  "public_ipaddr",
  "template_id",
  "bundle_id",
]);

interface PageToken {
  values: unknown[];
  id: number;
}

/**
 * `GET /api/v1/instances/`: keyset paging over the caller's instances (`next_token` is base64
 * JSON of the last row's sort values and id), `select_filters` on stored columns, `order_by`,
 * `select_cols`, and `label_counts` over all of them.
 */
export function listV1(
  ctx: MarketContext,
  principal: Principal,
  query: Record<string, unknown>,
  view: (instance: Instance) => Record<string, unknown>,
): Record<string, unknown> {
  const limit = pageLimit(query.limit);
  const filters = jsonParam(query.select_filters, "select_filters");
  const conditions: Condition[] = [];
  if (filters !== undefined) {
    if (filters === null || typeof filters !== "object" || Array.isArray(filters)) {
      throw new VastError(400, "invalid_request", "select_filters must be a JSON object");
    }
    for (const [column, filter] of Object.entries(filters)) {
      if (!STORED_COLUMNS.has(column))
        throw new VastError(400, "invalid_request", `${column} is not a valid search key`);
      conditions.push(...conditionsFor(column, filter));
    }
  }
  const order: SortKey[] = parseOrder(jsonParam(query.order_by, "order_by"));
  for (const key of order) {
    if (!STORED_COLUMNS.has(key.field))
      throw new VastError(400, "invalid_request", `${key.field} is not a valid order key`);
  }
  const keys = order.length > 0 ? order : [{ field: "id", descending: false }];
  const mine = ctx.manager
    .ofAccount(principal.account)
    .filter((i) => principal.instanceId === undefined || i.id === principal.instanceId);
  const labelCounts: Record<string, number> = {};
  for (const instance of mine) {
    const label = instance.label ?? "";
    labelCounts[label] = (labelCounts[label] ?? 0) + 1;
  }
  const rows = mine
    .map(view)
    .filter((row) => conditions.every((c) => satisfies(c, row[c.field])))
    .sort((a, b) =>
      compareRows(
        keys,
        (f) => a[f],
        (f) => b[f],
      ),
    );
  const token = decodeToken(query.after_token ?? query.next_token);
  const after = token
    ? rows.filter((row) => {
        const tokenRow = (field: string) =>
          field === "id" ? token.id : token.values[keys.findIndex((k) => k.field === field)];
        return compareRows(keys, (f) => row[f], tokenRow) > 0;
      })
    : rows;
  const page = after.slice(0, limit);
  const last = page[page.length - 1];
  const nextToken =
    after.length > limit && last ? encodeToken({ values: keys.map((k) => last[k.field]), id: Number(last.id) }) : null;
  const columns = selectColumns(jsonParam(query.select_cols, "select_cols"));
  return {
    success: true,
    instances_found: rows.length,
    total_instances: mine.length,
    label_counts: labelCounts,
    next_token: nextToken,
    instances: page.map((row) => {
      const full = { ...row, volume_info: [] };
      if (!columns) return full;
      return Object.fromEntries(columns.map((c) => [c, (full as Record<string, unknown>)[c] ?? null]));
    }),
  };
}

/** `limit`: default 25, at most 25; ≤ 0 gives 5 (vast-api.md §3.1 #4). */
function pageLimit(value: unknown): number {
  if (value === undefined || value === "") return V1_MAX_LIMIT;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new VastError(400, "invalid_request", "limit must be a number");
  if (n <= 0) return 5;
  return Math.min(Math.floor(n), V1_MAX_LIMIT);
}

function jsonParam(value: unknown, name: string): unknown {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") throw new VastError(400, "invalid_request", `${name} must be JSON`);
  try {
    return JSON.parse(value);
  } catch {
    throw new VastError(400, "invalid_request", `${name} is not valid JSON`);
  }
}

function selectColumns(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((c): c is string => typeof c === "string")) {
    throw new VastError(400, "invalid_request", "select_cols must be a JSON array of column names");
  }
  return value.includes("*") ? undefined : value;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString("base64");
}

function decodeToken(value: unknown): PageToken | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new VastError(400, "invalid_token", "Invalid pagination token.");
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64").toString("utf8"));
    if (
      parsed !== null &&
      typeof parsed === "object" &&
      "values" in parsed &&
      Array.isArray(parsed.values) &&
      "id" in parsed &&
      typeof parsed.id === "number"
    ) {
      return { values: parsed.values as unknown[], id: parsed.id };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new VastError(400, "invalid_token", "Invalid pagination token.");
}

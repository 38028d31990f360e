/**
 * Vast's filter grammar, shared by offer search (`POST /bundles/`) and the v1 instance list
 * (`select_filters`): `{field: {op: value, …}, …}`, ops eq/neq/gt/gte/lt/lte/in/notin, fields
 * combined with AND. Values may be numeric strings ("1"), which compare as numbers against
 * numeric fields (the CLI sends most values as strings).
 */
export const OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Condition {
  field: string;
  op: Operator;
  value: unknown;
}

/** The CLI's spellings that reach the server as other names. */
const OPERATOR_ALIASES: Readonly<Record<string, Operator>> = {
  nin: "notin",
  ne: "neq",
  "=": "eq",
  "==": "eq",
  "!=": "neq",
};

function toOperator(name: string): Operator | undefined {
  const lower = name.toLowerCase();
  if ((OPERATORS as readonly string[]).includes(lower)) return lower as Operator;
  return OPERATOR_ALIASES[lower];
}

/** Turns one field's filter into conditions; a bare value means `eq`. Unknown operators are skipped. */
export function conditionsFor(field: string, filter: unknown): Condition[] {
  if (filter !== null && typeof filter === "object" && !Array.isArray(filter)) {
    const out: Condition[] = [];
    for (const [name, value] of Object.entries(filter)) {
      const op = toOperator(name);
      if (op) out.push({ field, op, value });
    }
    return out;
  }
  return [{ field, op: "eq", value: filter }];
}

/** Whether `actual` (the row's value) satisfies the condition. */
export function satisfies(condition: Condition, actual: unknown): boolean {
  const { op, value } = condition;
  switch (op) {
    case "eq":
      return equal(actual, value);
    case "neq":
      return !equal(actual, value);
    case "in":
      return asList(value).some((v) => equal(actual, v));
    case "notin":
      return !asList(value).some((v) => equal(actual, v));
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const order = compare(actual, value);
      if (order === undefined) return false;
      if (op === "gt") return order > 0;
      if (op === "gte") return order >= 0;
      if (op === "lt") return order < 0;
      return order <= 0;
    }
  }
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** Brings the query value to the row value's type: "1" → 1 for numbers, "true" → true for booleans. */
export function coerce(actual: unknown, value: unknown): unknown {
  if (typeof actual === "number") {
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
    if (typeof value === "boolean") return value ? 1 : 0;
  }
  if (typeof actual === "boolean") {
    if (value === "true" || value === 1 || value === "1") return true;
    if (value === "false" || value === 0 || value === "0") return false;
  }
  if (typeof actual === "string" && typeof value === "number") return String(value);
  return value;
}

function equal(actual: unknown, value: unknown): boolean {
  if (value === null || value === undefined) return actual === null || actual === undefined;
  return actual === coerce(actual, value);
}

/** Negative, zero or positive; undefined when the two cannot be ordered (null, mixed types). */
export function compare(actual: unknown, value: unknown): number | undefined {
  const v = coerce(actual, value);
  if (typeof actual === "number" && typeof v === "number") return actual - v;
  if (typeof actual === "string" && typeof v === "string") return actual < v ? -1 : actual > v ? 1 : 0;
  if (typeof actual === "boolean" && typeof v === "boolean") return Number(actual) - Number(v);
  return undefined;
}

export interface SortKey {
  field: string;
  descending: boolean;
}

/**
 * Reads Vast's `order`: `[["score","desc"], ["dph_total","asc"]]`, a single pair, a bare field name,
 * or v1's `[{"col":"id","dir":"asc"}]`. Anything unreadable is skipped.
 */
export function parseOrder(order: unknown): SortKey[] {
  if (typeof order === "string") return [{ field: order, descending: false }];
  if (!Array.isArray(order)) return [];
  if (order.length === 2 && typeof order[0] === "string" && typeof order[1] === "string" && isDirection(order[1])) {
    return [{ field: order[0], descending: order[1].toLowerCase() === "desc" }];
  }
  const keys: SortKey[] = [];
  for (const item of order as unknown[]) {
    if (Array.isArray(item) && typeof item[0] === "string") {
      const dir: unknown = item[1];
      keys.push({ field: item[0], descending: typeof dir === "string" && dir.toLowerCase() === "desc" });
    } else if (typeof item === "string") {
      keys.push({ field: item, descending: false });
    } else if (item !== null && typeof item === "object" && "col" in item && typeof item.col === "string") {
      const dir: unknown = "dir" in item ? item.dir : "asc";
      keys.push({ field: item.col, descending: typeof dir === "string" && dir.toLowerCase() === "desc" });
    }
  }
  return keys;
}

function isDirection(value: string): boolean {
  const lower = value.toLowerCase();
  return lower === "asc" || lower === "desc";
}

/** Sorts by the keys, nulls last, then by `id` ascending so every order is total and stable. */
export function compareRows(
  keys: readonly SortKey[],
  a: (field: string) => unknown,
  b: (field: string) => unknown,
): number {
  for (const key of keys) {
    const av = a(key.field);
    const bv = b(key.field);
    const aMissing = av === null || av === undefined;
    const bMissing = bv === null || bv === undefined;
    if (aMissing || bMissing) {
      if (aMissing && bMissing) continue;
      return aMissing ? 1 : -1;
    }
    const order = compare(av, bv) ?? 0;
    if (order !== 0) return key.descending ? -order : order;
  }
  return compare(a("id"), b("id")) ?? 0;
}

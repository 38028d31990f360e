import type { FastifyInstance } from "fastify";
import type { CreditEntry, DayCharge } from "../account-ledger";
import type { MarketContext } from "../market-context";
import { round } from "../random";
import { authenticate, authenticateAccount } from "./auth";
import { ownedInstance } from "./owned-instance";
import { pathId, VastError } from "./vast-error";

const DAY_S = 86_400;
const CHARGES_DEFAULT_LIMIT = 100;
const CHARGES_MAX_LIMIT = 500;
const INVOICES_DEFAULT_LIMIT = 60;
const INVOICES_MAX_LIMIT = 500;

interface Range {
  gte: number;
  lte: number;
}

/**
 * Billing, from the simulated ledger (`account-ledger.ts`): `GET /api/v0/charges/` (what each
 * instance cost, per day, split into gpu and disk), `GET /api/v1/invoices/` (the credit put on the
 * account), the official CLI's older `GET /api/v0/users/me/invoices` (both, as rows), and
 * `GET /api/v0/instances/balance/{id}/` (no prepaid deposits here). Shapes: vast-api.md §3.1 #27–29.
 */
export function registerBillingRoutes(app: FastifyInstance, ctx: MarketContext): void {
  app.get("/api/v0/charges/", (request) => {
    const account = authenticateAccount(ctx, request);
    ctx.manager.billing.accrue(account);
    const query = request.query as Record<string, unknown>;
    const filters = selectFilters(query.select_filters);
    const day = range(filters.day);
    if (!day) {
      throw new VastError(
        400,
        "invalid_args",
        'select_filters.day is required: {"day": {"gte": <epoch s>, "lte": <epoch s>}}',
      );
    }
    const types = inList(filters.type, "type");
    const rows = account.ledger
      .charges()
      .filter((c) => c.dayStartS <= day.lte && c.dayStartS + DAY_S >= day.gte)
      .filter(() => types === undefined || types.includes("instance"))
      .sort((a, b) => a.dayStartS - b.dayStartS || a.instanceId - b.instanceId)
      .map(chargeRow);
    return page(rows, query, CHARGES_DEFAULT_LIMIT, CHARGES_MAX_LIMIT);
  });

  app.get("/api/v1/invoices/", (request) => {
    const account = authenticateAccount(ctx, request);
    const query = request.query as Record<string, unknown>;
    const filters = selectFilters(query.select_filters);
    const when = range(filters.when);
    // Vast answers a missing or bad range with 200 and success false (vast-api.md §1.4).
    if (!when || when.gte > when.lte) {
      return {
        success: false,
        error: "Invalid date range",
        msg: 'select_filters.when needs {"gte": <epoch s>, "lte": <epoch s>}, gte ≤ lte.',
      };
    }
    const services = inList(filters.service, "service");
    const rows = account.ledger.credits
      .filter((c) => c.atS >= when.gte && c.atS <= when.lte)
      .filter(() => services === undefined || services.includes(SIMULATED_SERVICE))
      .sort((a, b) => a.atS - b.atS || a.id - b.id)
      .map(invoiceRow);
    return page(rows, query, INVOICES_DEFAULT_LIMIT, INVOICES_MAX_LIMIT);
  });

  app.get("/api/v0/users/me/invoices/", (request) => {
    const account = authenticateAccount(ctx, request);
    ctx.manager.billing.accrue(account);
    const query = request.query as Record<string, unknown>;
    const sdate = optionalNumber(query.sdate, "sdate") ?? 0;
    const edate = optionalNumber(query.edate, "edate") ?? Number.MAX_SAFE_INTEGER;
    const withCharges = query.inc_charges !== "false" && query.inc_charges !== "False";
    const inRange = (t: number) => t >= sdate && t <= edate;
    const charges = account.ledger.charges().filter((c) => inRange(c.lastS));
    const rows = [
      ...account.ledger.credits
        .filter((c) => inRange(c.atS))
        .map((c) => ({
          id: c.id,
          type: c.amount >= 0 ? "payment" : "charge",
          description: c.description,
          quantity: 1,
          rate: round(Math.abs(c.amount), 6),
          amount: round(Math.abs(c.amount), 6),
          timestamp: c.atS,
          instance_id: null,
        })),
      ...(withCharges
        ? charges.map((c) => ({
            id: null,
            type: "charge",
            description: chargeDescription(c),
            quantity: round(c.gpuHours + c.diskHours, 6),
            rate: round(c.gpuHours > 0 ? c.gpuAmount / c.gpuHours : 0, 6),
            amount: round(c.gpuAmount + c.diskAmount, 6),
            timestamp: c.lastS,
            instance_id: c.instanceId,
          }))
        : []),
    ].sort((a, b) => a.timestamp - b.timestamp);
    const charged = charges.reduce((sum, c) => sum + c.gpuAmount + c.diskAmount, 0);
    return {
      invoices: rows,
      current: {
        charges: round(charged, 6),
        service_fee: 0,
        total: round(charged, 6),
        credit: round(account.credit, 6),
      },
    };
  });

  app.get<{ Params: { id: string } }>("/api/v0/instances/balance/:id/", (request) => {
    const principal = authenticate(ctx, request);
    ownedInstance(ctx, principal, pathId(request.params.id, "instance"));
    // Nothing is prepaid on the local marketplace, so there is no deposit or discount.
    return { success: true, refundable_deposit: 0, total_discount: 0, discount_months: 0 };
  });
}

/** The `service` invoices from `/sim/credit` and the starting credit carry (no payment processor). */
const SIMULATED_SERVICE = "simulated_credit";

function chargeRow(c: DayCharge): Record<string, unknown> {
  const gpuRate = c.gpuHours > 0 ? c.gpuAmount / c.gpuHours : 0;
  return {
    start: c.firstS,
    end: c.lastS,
    type: "instance",
    source: `instance-${c.instanceId}`,
    description: chargeDescription(c),
    amount: round(c.gpuAmount + c.diskAmount, 6),
    metadata: { label: c.label, template_id: null, instance_id: c.instanceId },
    items: [
      {
        type: "gpu",
        amount: round(c.gpuAmount, 6),
        description: `${c.gpuHours.toFixed(3)} hours at $${gpuRate.toFixed(3)}/hour`,
        start: c.firstS,
        end: c.lastS,
      },
      {
        type: "disk",
        amount: round(c.diskAmount, 6),
        description: `${c.diskGb} GB for ${c.diskHours.toFixed(3)} hours at $${c.storageCostPerGbMonth}/GB-month`,
        start: c.firstS,
        end: c.lastS,
      },
    ],
  };
}

function chargeDescription(c: DayCharge): string {
  return `Instance ${c.instanceId}${c.label ? ` (${c.label})` : ""}: compute and disk (simulated)`;
}

/**
 * A credit as an invoice row. Vast's invoices count money put on the account as negative (the
 * official CLI flips the sign of every non-transfer row to show it as a plus), so a credit of
 * $100 is `amount: -100` here and prints as "$100.00".
 */
function invoiceRow(c: CreditEntry): Record<string, unknown> {
  return {
    start: c.atS,
    end: c.atS,
    type: c.amount >= 0 ? "credit" : "refund",
    source: "simulated",
    description: c.description,
    amount: round(-c.amount, 6),
    metadata: { invoice_id: c.id, service: SIMULATED_SERVICE },
    items: [],
  };
}

/** Offset paging with an opaque token, and `latest_first`. */
function page(
  rows: Record<string, unknown>[],
  query: Record<string, unknown>,
  defaultLimit: number,
  maxLimit: number,
): Record<string, unknown> {
  const limit = Math.min(optionalNumber(query.limit, "limit") ?? defaultLimit, maxLimit);
  if (!(limit >= 1) || !Number.isInteger(limit))
    throw new VastError(400, "invalid_args", "limit must be a positive integer");
  const ordered = query.latest_first === "true" || query.latest_first === "True" ? [...rows].reverse() : rows;
  const offset = tokenOffset(query.after_token ?? query.next_token);
  const slice = ordered.slice(offset, offset + limit);
  const nextOffset = offset + slice.length;
  return {
    success: true,
    count: slice.length,
    total: ordered.length,
    next_token:
      nextOffset < ordered.length ? Buffer.from(JSON.stringify({ offset: nextOffset })).toString("base64") : null,
    results: slice,
  };
}

function tokenOffset(raw: unknown): number {
  if (raw === undefined || raw === null || raw === "") return 0;
  if (typeof raw === "string") {
    try {
      const parsed = JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as { offset?: unknown };
      if (typeof parsed.offset === "number" && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0)
        return parsed.offset;
    } catch {
      // Falls through to the error.
    }
  }
  throw new VastError(400, "invalid_token", "Invalid after_token.");
}

function selectFilters(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === "") return {};
  let parsed: unknown = raw;
  if (typeof raw === "string") {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new VastError(400, "invalid_args", "select_filters is not valid JSON");
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new VastError(400, "invalid_args", "select_filters must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/** `{"gte": t0, "lte": t1}` in epoch seconds (numbers or numeric strings); undefined when absent or malformed. */
function range(raw: unknown): Range | undefined {
  if (raw === null || typeof raw !== "object") return undefined;
  const { gte, lte } = raw as Record<string, unknown>;
  const from = Number(gte);
  const to = Number(lte);
  if (gte === undefined || lte === undefined || !Number.isFinite(from) || !Number.isFinite(to)) return undefined;
  return { gte: from, lte: to };
}

function inList(raw: unknown, what: string): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>).in : undefined;
  if (!Array.isArray(list)) throw new VastError(400, "invalid_args", `select_filters.${what} must be {"in": [...]}`);
  return list.map(String);
}

function optionalNumber(raw: unknown, what: string): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new VastError(400, "invalid_args", `${what} must be a number`);
  return value;
}

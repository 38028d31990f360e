import { z } from "zod";
import { defineRoute } from "./route";
import { SuccessBody, Timestamp, QueryBool } from "./common-schemas";
import { ATTEMPT_OUTCOMES, FAILURE_STAGES } from "../history/reliability";
import { PROVIDER_NAMES, canonicalProvider, providerPattern } from "../market/provider-names";

/**
 * A marketplace by the name its rows carry; `vast` reads as `vast.ai`. An unknown name is refused,
 * so a search never answers empty and a blacklist entry never sits unused under a misspelling.
 */
const Provider = z
  .string()
  .max(40)
  // The accepted spellings as a pattern, so the OpenAPI document (and every client) knows them.
  .regex(providerPattern(), {
    error: (issue) =>
      `unknown provider ${JSON.stringify(issue.input)}: use ${Object.keys(PROVIDER_NAMES).join(", ")} (or vast)`,
  })
  .transform((typed) => canonicalProvider(typed) ?? typed)
  .describe(`${Object.keys(PROVIDER_NAMES).join(", ")} (vast is accepted for vast.ai)`);
const HostParams = z.object({ provider: Provider, machine_id: z.string().min(1).max(64) });

export const HostStats = z
  .object({
    provider: z.string(),
    machine_id: z.string(),
    total_attempts: z.number().int().describe("every rented machine: successful + failed + abandoned"),
    successful_attempts: z.number().int(),
    failed_attempts: z.number().int(),
    abandoned_attempts: z
      .number()
      .int()
      .describe("destroyed before ready through no fault of the host (race losers); not in success_rate"),
    success_rate: z.number().describe("successful ÷ (successful + failed)"),
    avg_time_to_ready: z.number().nullable().describe("seconds"),
    reliability_status: z.enum(["unknown", "excellent", "good", "fair", "poor"]),
    is_blacklisted: z.boolean(),
    last_seen: Timestamp,
    gpu_name: z.string(),
  })
  .meta({ id: "HostStats" });

export const Attempt = z
  .object({
    id: z.number().int(),
    provider: z.string(),
    machine_id: z.string(),
    offer_id: z.string(),
    instance_id: z.string().nullable(),
    gpu_name: z.string(),
    num_gpus: z.number().int(),
    price_per_hour: z.number(),
    geolocation: z.string().nullable(),
    success: z.boolean(),
    outcome: z
      .enum(ATTEMPT_OUTCOMES)
      .describe("abandoned = destroyed before ready through no fault of the host (a race loser): not a failure"),
    failure_stage: z.enum(FAILURE_STAGES).nullable(),
    failure_reason: z.string().nullable(),
    time_to_ready_seconds: z.number().nullable(),
    attempted_at: Timestamp,
  })
  .meta({ id: "MachineAttempt" });

export const BlacklistEntry = z
  .object({
    id: z.number().int(),
    provider: z.string(),
    machine_id: z.string(),
    blacklist_type: z.enum(["auto", "manual"]),
    reason: z.string(),
    gpu_name: z.string().nullable(),
    blacklisted_at: Timestamp,
    expires_at: Timestamp.nullable().describe("null = permanent"),
    is_active: z.boolean(),
    hidden: z
      .boolean()
      .describe("you hid this automatic entry: it no longer applies to your searches (others stay protected)"),
  })
  .meta({ id: "BlacklistEntry" });

export const historyRoutes = {
  historySummary: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/summary",
    summary: "Attempts, success rate and failure stages over a period",
    tag: "history",
    auth: true,
    successStatus: 200,
    query: z.object({ provider: Provider.optional(), hours: z.coerce.number().int().min(1).max(8760).default(24) }),
    response: z.object({
      period_hours: z.number(),
      provider: z.string().nullable(),
      total_attempts: z.number().int().describe("every rented machine: successful + failed + abandoned"),
      successful: z.number().int(),
      failed: z.number().int(),
      abandoned: z.number().int().describe("destroyed before ready through no fault of the host (race losers)"),
      success_rate: z.number().describe("successful ÷ (successful + failed)"),
      failure_stages: z.record(z.string(), z.number()),
      blacklisted_machines: z.number().int(),
    }),
  }),
  historyAttempts: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/attempts",
    summary: "Your recorded attempts, newest first (other users' count only in the aggregates)",
    tag: "history",
    auth: true,
    successStatus: 200,
    query: z.object({
      provider: Provider.optional(),
      machine_id: z.string().max(64).optional(),
      success_only: QueryBool.optional(),
      hours: z.coerce.number().int().min(1).max(8760).default(72),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: z.object({ attempts: z.array(Attempt), count: z.number().int() }),
  }),
  historyHostStats: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/stats/{provider}/{machine_id}",
    summary: "What we know of one host",
    tag: "history",
    auth: true,
    successStatus: 200,
    params: HostParams,
    response: HostStats,
  }),
  historyProblematic: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/problematic",
    summary: "Hosts that fail often",
    tag: "history",
    auth: true,
    successStatus: 200,
    query: z.object({
      provider: Provider.optional(),
      min_attempts: z.coerce.number().int().min(1).default(3),
      max_success_rate: z.coerce.number().min(0).max(1).default(0.5),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
    response: z.object({
      machines: z.array(HostStats),
      count: z.number().int(),
      thresholds: z
        .object({ min_attempts: z.number().int(), max_success_rate: z.number() })
        .describe("what applied, so an empty answer says why"),
    }),
  }),
  historyReliable: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/reliable",
    summary: "Hosts that work",
    tag: "history",
    auth: true,
    successStatus: 200,
    query: z.object({
      provider: Provider.optional(),
      min_attempts: z.coerce.number().int().min(1).default(5),
      min_success_rate: z.coerce.number().min(0).max(1).default(0.8),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
    response: z.object({
      machines: z.array(HostStats),
      count: z.number().int(),
      thresholds: z
        .object({ min_attempts: z.number().int(), min_success_rate: z.number() })
        .describe("what applied, so an empty answer says why"),
    }),
  }),
  listBlacklist: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/blacklist",
    summary: "Blacklisted hosts (automatic ones and yours)",
    tag: "history",
    auth: true,
    successStatus: 200,
    query: z.object({
      provider: Provider.optional(),
      blacklist_type: z.enum(["auto", "manual"]).optional(),
      include_expired: QueryBool.default(false),
    }),
    response: z.object({ entries: z.array(BlacklistEntry), count: z.number().int() }),
  }),
  addBlacklist: defineRoute({
    method: "POST",
    path: "/api/v1/machines/history/blacklist",
    summary: "Blacklist a host for yourself (permanent unless duration_hours)",
    tag: "history",
    auth: true,
    successStatus: 201,
    body: z.object({
      provider: Provider,
      machine_id: z.string().min(1).max(64),
      reason: z.string().trim().min(1).max(500),
      duration_hours: z.number().positive().max(87_600).optional(),
      gpu_name: z.string().max(64).optional(),
    }),
    response: BlacklistEntry,
  }),
  checkBlacklist: defineRoute({
    method: "GET",
    path: "/api/v1/machines/history/blacklist/check/{provider}/{machine_id}",
    summary: "Is this host blacklisted for you?",
    tag: "history",
    auth: true,
    successStatus: 200,
    params: HostParams,
    response: z.object({ is_blacklisted: z.boolean(), info: BlacklistEntry.nullable() }),
  }),
  removeBlacklist: defineRoute({
    method: "DELETE",
    path: "/api/v1/machines/history/blacklist/{provider}/{machine_id}",
    summary:
      "Take a host off your blacklist: your entries are removed, automatic ones hidden for you only " +
      "(scope=everyone, operator only: automatic entries end for everyone)",
    tag: "history",
    auth: true,
    successStatus: 200,
    params: HostParams,
    query: z.object({ scope: z.enum(["mine", "everyone"]).default("mine") }),
    response: SuccessBody.extend({
      removed: z.number().int().describe("entries ended"),
      hidden: z.number().int().describe("automatic entries hidden for you only"),
    }),
  }),
} as const;

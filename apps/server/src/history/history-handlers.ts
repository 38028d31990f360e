import type { FailureStage } from "@dumont/core";
import { notFound } from "@dumont/core";
import type { AttemptRow, BlacklistRow, BlacklistViewRow } from "@dumont/db";
import type { HandlersFor } from "../http/handler-types";
import { requireOperator } from "../auth/roles";
import { iso, isoOrNull, type ServerContext } from "../server-context";

type Names =
  | "historySummary"
  | "historyAttempts"
  | "historyHostStats"
  | "historyProblematic"
  | "historyReliable"
  | "listBlacklist"
  | "addBlacklist"
  | "checkBlacklist"
  | "removeBlacklist";

export function historyHandlers(ctx: ServerContext): HandlersFor<Names> {
  const { history } = ctx;
  return {
    historySummary: async ({ query }, { principal }) => history.summary({ ...query, userId: principal.user.id }),
    historyAttempts: async ({ query }, { principal }) => {
      const rows = await history.attempts({
        userId: principal.user.id,
        provider: query.provider,
        machineId: query.machine_id,
        hours: query.hours,
        successOnly: query.success_only,
        limit: query.limit,
      });
      return { attempts: rows.map(attemptView), count: rows.length };
    },
    historyHostStats: async ({ params }, { principal }) => {
      const [stats] = await history.hostStats(principal.user.id, {
        provider: params.provider,
        machineId: params.machine_id,
      });
      if (!stats) throw notFound("host history", `${params.provider}/${params.machine_id}`);
      return stats;
    },
    historyProblematic: async ({ query }, { principal }) => {
      const all = await history.hostStats(principal.user.id, { provider: query.provider });
      const machines = all
        .filter((s) => decided(s) >= query.min_attempts && s.success_rate <= query.max_success_rate)
        .sort((a, b) => a.success_rate - b.success_rate || b.total_attempts - a.total_attempts)
        .slice(0, query.limit);
      const thresholds = { min_attempts: query.min_attempts, max_success_rate: query.max_success_rate };
      return { machines, count: machines.length, thresholds };
    },
    historyReliable: async ({ query }, { principal }) => {
      const all = await history.hostStats(principal.user.id, { provider: query.provider });
      const machines = all
        .filter((s) => decided(s) >= query.min_attempts && s.success_rate >= query.min_success_rate)
        .sort((a, b) => b.success_rate - a.success_rate || b.total_attempts - a.total_attempts)
        .slice(0, query.limit);
      const thresholds = { min_attempts: query.min_attempts, min_success_rate: query.min_success_rate };
      return { machines, count: machines.length, thresholds };
    },
    listBlacklist: async ({ query }, { principal }) => {
      const rows = await history.list(principal.user.id, {
        includeExpired: query.include_expired,
        provider: query.provider,
        kind: query.blacklist_type,
      });
      return { entries: rows.map((r) => blacklistView(r, ctx.now())), count: rows.length };
    },
    addBlacklist: async ({ body }, { principal }) =>
      blacklistView(
        await history.addManual(principal.user.id, {
          provider: body.provider,
          machineId: body.machine_id,
          reason: body.reason,
          hours: body.duration_hours,
          gpuName: body.gpu_name,
        }),
        ctx.now(),
      ),
    checkBlacklist: async ({ params }, { principal }) => {
      const found = await history.blacklistedHosts(principal.user.id, params.provider, [params.machine_id]);
      const entry = found.get(params.machine_id);
      return { is_blacklisted: entry !== undefined, info: entry ? blacklistView(entry, ctx.now()) : null };
    },
    removeBlacklist: async ({ params, query }, { principal }) => {
      const host = `${params.provider} host ${params.machine_id}`;
      if (query.scope === "everyone") {
        requireOperator(principal);
        const result = await history.removeForEveryone(principal.user.id, params.provider, params.machine_id);
        return { success: true, message: `${host} removed from the blacklist for everyone`, ...result };
      }
      const result = await history.removeForUser(principal.user.id, params.provider, params.machine_id);
      const message =
        result.hidden > 0
          ? `${host} is no longer blacklisted for you; its automatic entry still protects other users`
          : `${host} removed from your blacklist`;
      return { success: true, message, ...result };
    },
  };
}

function attemptView(row: AttemptRow) {
  return {
    id: row.id,
    provider: row.provider,
    machine_id: row.machine_id,
    offer_id: row.offer_id,
    instance_id: row.instance_id,
    gpu_name: row.gpu_name,
    num_gpus: row.num_gpus,
    price_per_hour: row.price_per_hour,
    geolocation: row.geolocation,
    success: row.success === 1,
    outcome: row.outcome,
    failure_stage: row.failure_stage as FailureStage | null,
    failure_reason: row.failure_reason,
    time_to_ready_seconds: row.time_to_ready_s,
    attempted_at: iso(row.attempted_at),
  };
}

/** An entry as the caller sees it; rows without `hidden_at` are ones that apply to the caller. */
export function blacklistView(row: BlacklistRow | BlacklistViewRow, now: number) {
  return {
    id: row.id,
    provider: row.provider,
    machine_id: row.machine_id,
    blacklist_type: row.kind,
    reason: row.reason,
    gpu_name: row.gpu_name,
    blacklisted_at: iso(row.created_at),
    expires_at: isoOrNull(row.expires_at),
    is_active: row.removed_at === null && (row.expires_at === null || row.expires_at > now),
    hidden: "hidden_at" in row && row.hidden_at !== null,
  };
}

/** Attempts that say something about the host: abandoned ones (race losers) do not. */
function decided(stats: { successful_attempts: number; failed_attempts: number }): number {
  return stats.successful_attempts + stats.failed_attempts;
}

import {
  AUTO_BLACKLIST,
  DumontError,
  autoBlacklistDecision,
  decidedSuccessRate,
  reliabilityStatus,
  type FailureStage,
  type ReliabilityStatus,
} from "@dumont/core";
import type { BlacklistRow, HistoryRepository, HostStatsRow } from "@dumont/db";
import type { Logger } from "pino";

const HOUR = 3_600_000;

export interface AttemptRecord {
  provider: string;
  machineId: string;
  offerId: string;
  instanceId: string | null;
  userId: string;
  gpuName: string;
  numGpus: number;
  pricePerHour: number;
  geolocation: string | null;
  success: boolean;
  /** Destroyed before ready, not the host's fault (a race loser): recorded, never a failure. */
  abandoned?: boolean;
  failureStage: FailureStage | null;
  failureReason: string | null;
  timeToReadyS: number | null;
  /** A later verdict on a machine already recorded (the wizard's checks) replaces its record. */
  replace?: boolean;
}

export interface HostStats {
  provider: string;
  machine_id: string;
  total_attempts: number;
  successful_attempts: number;
  failed_attempts: number;
  abandoned_attempts: number;
  success_rate: number;
  avg_time_to_ready: number | null;
  reliability_status: ReliabilityStatus;
  is_blacklisted: boolean;
  last_seen: string;
  gpu_name: string;
}

/**
 * Machine history and the blacklist: every rented machine's first boot is recorded once, as a
 * success, a failure, or abandoned (destroyed before ready through no fault of the host; left out
 * of every failure rate and of the blacklist rules); hosts that keep failing are blacklisted automatically (for everyone, until it expires or the operator removes
 * it; a user may hide such an entry for their own searches), and users can blacklist hosts for
 * themselves. Offers are annotated with what we know of their host.
 */
export class HistoryService {
  constructor(
    private readonly repo: HistoryRepository,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  async record(attempt: AttemptRecord): Promise<void> {
    const now = this.now();
    const success = attempt.success && !attempt.abandoned;
    const written = await this.repo.recordAttempt(
      {
        provider: attempt.provider,
        machine_id: attempt.machineId,
        offer_id: attempt.offerId,
        instance_id: attempt.instanceId,
        user_id: attempt.userId,
        gpu_name: attempt.gpuName,
        num_gpus: attempt.numGpus,
        price_per_hour: attempt.pricePerHour,
        geolocation: attempt.geolocation,
        success: success ? 1 : 0,
        outcome: attempt.abandoned ? "abandoned" : success ? "success" : "failure",
        failure_stage: attempt.abandoned ? null : attempt.failureStage,
        failure_reason: attempt.failureReason,
        time_to_ready_s: attempt.timeToReadyS,
        attempted_at: now,
      },
      attempt.replace ? "replace" : "first",
    );
    if (written && !success && !attempt.abandoned) await this.maybeAutoBlacklist(attempt, now);
  }

  private async maybeAutoBlacklist(attempt: AttemptRecord, now: number): Promise<void> {
    const recent = await this.repo.hostAttempts(
      attempt.provider,
      attempt.machineId,
      now - AUTO_BLACKLIST.windowHours * HOUR,
    );
    const decision = autoBlacklistDecision(
      recent
        .filter((a) => a.outcome !== "abandoned")
        .map((a) => ({
          success: a.success === 1,
          stage: a.failure_stage as FailureStage | null,
          at: a.attempted_at,
        })),
    );
    if (!decision) return;
    const active = await this.repo.activeAutomatic({ provider: attempt.provider, machineId: attempt.machineId, now });
    if (active.length > 0) return;
    await this.repo.addBlacklist({
      provider: attempt.provider,
      machine_id: attempt.machineId,
      kind: "auto",
      owner_id: null,
      reason: decision.reason,
      gpu_name: attempt.gpuName,
      created_at: now,
      expires_at: now + decision.hours * HOUR,
      removed_at: null,
    });
    this.logger.warn(
      { provider: attempt.provider, machine: attempt.machineId, hours: decision.hours, reason: decision.reason },
      "host blacklisted",
    );
  }

  /** Blacklisted host ids (of these candidates) that apply to this user. */
  async blacklistedHosts(
    userId: string,
    provider: string,
    machineIds: readonly string[],
  ): Promise<Map<string, BlacklistRow>> {
    const rows = await this.repo.activeBlacklist({ userId, now: this.now(), provider, machineIds });
    const map = new Map<string, BlacklistRow>();
    for (const row of rows) if (!map.has(row.machine_id)) map.set(row.machine_id, row);
    return map;
  }

  async statsFor(provider: string, machineIds: readonly string[]): Promise<Map<string, HostStatsRow>> {
    const rows = await this.repo.hostStats({ provider, machineIds });
    return new Map(rows.map((r) => [r.machine_id, r]));
  }

  async summary(filter: { provider?: string | undefined; hours: number; userId: string }) {
    const since = this.now() - filter.hours * HOUR;
    const stats = await this.repo.hostStats({ provider: filter.provider, since });
    const total = stats.reduce((n, s) => n + s.total, 0);
    const successes = stats.reduce((n, s) => n + s.successes, 0);
    const abandoned = stats.reduce((n, s) => n + s.abandoned, 0);
    const failures = total - successes - abandoned;
    const blacklisted = await this.repo.activeBlacklist({
      userId: filter.userId,
      now: this.now(),
      provider: filter.provider,
    });
    return {
      period_hours: filter.hours,
      provider: filter.provider ?? null,
      total_attempts: total,
      successful: successes,
      failed: failures,
      abandoned,
      success_rate: round(decidedSuccessRate({ successes, failures })),
      failure_stages: await this.repo.failureStages({ provider: filter.provider, since }),
      blacklisted_machines: new Set(blacklisted.map((b) => `${b.provider}/${b.machine_id}`)).size,
    };
  }

  /**
   * The user's own attempts. Another user's attempts name their instances, offers and failure
   * messages, so they are shown only as per-host aggregates (summary, stats, rankings).
   */
  attempts(filter: {
    userId: string;
    provider?: string | undefined;
    machineId?: string | undefined;
    hours: number;
    successOnly?: boolean | undefined;
    limit: number;
  }) {
    return this.repo.listAttempts({ ...filter, since: this.now() - filter.hours * HOUR });
  }

  async hostStats(
    userId: string,
    filter: { provider?: string | undefined; machineId?: string | undefined },
  ): Promise<HostStats[]> {
    const rows = await this.repo.hostStats({
      provider: filter.provider,
      machineIds: filter.machineId === undefined ? undefined : [filter.machineId],
    });
    const blacklist = await this.repo.activeBlacklist({ userId, now: this.now(), provider: filter.provider });
    const banned = new Set(blacklist.map((b) => `${b.provider}/${b.machine_id}`));
    return rows.map((r) => {
      const failures = r.total - r.successes - r.abandoned;
      const rate = decidedSuccessRate({ successes: r.successes, failures });
      return {
        provider: r.provider,
        machine_id: r.machine_id,
        total_attempts: r.total,
        successful_attempts: r.successes,
        failed_attempts: failures,
        abandoned_attempts: r.abandoned,
        success_rate: round(rate),
        avg_time_to_ready: r.avg_time_to_ready_s === null ? null : round(r.avg_time_to_ready_s),
        reliability_status: reliabilityStatus(r.successes + failures, rate),
        is_blacklisted: banned.has(`${r.provider}/${r.machine_id}`),
        last_seen: new Date(r.last_seen).toISOString(),
        gpu_name: r.gpu_name,
      };
    });
  }

  async addManual(
    userId: string,
    entry: {
      provider: string;
      machineId: string;
      reason: string;
      hours?: number | undefined;
      gpuName?: string | undefined;
    },
  ) {
    const now = this.now();
    return this.repo.addBlacklist({
      provider: entry.provider,
      machine_id: entry.machineId,
      kind: "manual",
      owner_id: userId,
      reason: entry.reason,
      gpu_name: entry.gpuName ?? null,
      created_at: now,
      expires_at: entry.hours === undefined ? null : now + entry.hours * HOUR,
      removed_at: null,
    });
  }

  /**
   * Takes a host off one user's blacklist: removes the user's own entries and hides the automatic
   * ones for that user only. Automatic entries are the operator's: they keep protecting every
   * other user, and only `removeForEveryone` ends them.
   */
  async removeForUser(userId: string, provider: string, machineId: string): Promise<BlacklistRemoval> {
    const now = this.now();
    const removed = await this.repo.removeOwnBlacklist({ userId, provider, machineId, now });
    const automatic = await this.repo.activeAutomatic({ provider, machineId, now });
    const hidden = await this.repo.hideBlacklist({ userId, entryIds: automatic.map((entry) => entry.id), now });
    if (removed + hidden === 0) throw notBlacklisted(provider, machineId, "for you");
    return { removed, hidden };
  }

  /** The operator's removal: the host's automatic entries end for everyone (and the operator's own). */
  async removeForEveryone(operatorId: string, provider: string, machineId: string): Promise<BlacklistRemoval> {
    const now = this.now();
    const own = await this.repo.removeOwnBlacklist({ userId: operatorId, provider, machineId, now });
    const automatic = await this.repo.removeAutomaticBlacklist({ provider, machineId, now });
    if (own + automatic === 0) throw notBlacklisted(provider, machineId, "automatically or by you");
    this.logger.info({ provider, machine: machineId, by: operatorId }, "automatic blacklist entry removed");
    return { removed: own + automatic, hidden: 0 };
  }

  list(userId: string, filter: { includeExpired: boolean; provider?: string | undefined; kind?: string | undefined }) {
    return this.repo.listBlacklist({ userId, now: this.now(), ...filter });
  }
}

export interface BlacklistRemoval {
  /** Entries ended (the caller's own; for the operator, also the automatic ones). */
  removed: number;
  /** Automatic entries hidden for the caller only. */
  hidden: number;
}

function notBlacklisted(provider: string, machineId: string, how: string): DumontError {
  return new DumontError({ code: "NOT_FOUND", message: `${provider} host ${machineId} is not blacklisted ${how}` });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

import { sql, type Insertable, type Kysely, type Selectable } from "kysely";
import type { BlacklistTable, Database, MachineAttemptsTable } from "../schema";

export type AttemptRow = Selectable<MachineAttemptsTable>;
export type BlacklistRow = Selectable<BlacklistTable>;
/** An entry as one user sees it: `hidden_at` is when that user hid it (automatic entries only). */
export type BlacklistViewRow = BlacklistRow & { hidden_at: number | null };

export interface HostStatsRow {
  provider: string;
  machine_id: string;
  /** Every recorded rental, abandoned ones included. */
  total: number;
  successes: number;
  /** Destroyed before ready through no fault of the host: not a failure, not a success. */
  abandoned: number;
  avg_time_to_ready_s: number | null;
  last_seen: number;
  gpu_name: string;
}

/** Attempts and blacklist entries; aggregation happens in SQL so it scales with history. */
export class HistoryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records an attempt; false when nothing was written. A machine (instance id) has one outcome:
   * `first` keeps an earlier record of the same instance, `replace` overwrites it with a later
   * verdict (the wizard's own checks failing a machine that booted).
   */
  async recordAttempt(
    attempt: Insertable<MachineAttemptsTable>,
    mode: "first" | "replace" = "first",
  ): Promise<boolean> {
    const row: Insertable<MachineAttemptsTable> = {
      ...attempt,
      outcome: attempt.outcome ?? (Number(attempt.success) === 1 ? "success" : "failure"),
    };
    const instanceId = row.instance_id ?? null;
    if (instanceId !== null) {
      const existing = await this.db
        .selectFrom("machine_attempts")
        .select("id")
        .where("instance_id", "=", instanceId)
        .orderBy("id")
        .executeTakeFirst();
      if (existing && mode === "first") return false;
      if (existing) {
        await this.db.updateTable("machine_attempts").set(row).where("id", "=", existing.id).execute();
        return true;
      }
    }
    await this.db.insertInto("machine_attempts").values(row).execute();
    return true;
  }

  /** Attempts on one host since `since`, newest first. */
  hostAttempts(provider: string, machineId: string, since: number): Promise<AttemptRow[]> {
    return this.db
      .selectFrom("machine_attempts")
      .selectAll()
      .where("provider", "=", provider)
      .where("machine_id", "=", machineId)
      .where("attempted_at", ">=", since)
      .orderBy("attempted_at", "desc")
      .orderBy("id", "desc")
      .execute();
  }

  /** One user's attempts (others' appear only in the aggregates below), newest first. */
  listAttempts(filter: {
    userId: string;
    provider?: string | undefined;
    machineId?: string | undefined;
    since: number;
    successOnly?: boolean | undefined;
    limit: number;
  }) {
    return this.db
      .selectFrom("machine_attempts")
      .selectAll()
      .where("user_id", "=", filter.userId)
      .where("attempted_at", ">=", filter.since)
      .$if(filter.provider !== undefined, (q) => q.where("provider", "=", filter.provider ?? ""))
      .$if(filter.machineId !== undefined, (q) => q.where("machine_id", "=", filter.machineId ?? ""))
      .$if(filter.successOnly === true, (q) => q.where("success", "=", 1))
      .orderBy("attempted_at", "desc")
      .orderBy("id", "desc")
      .limit(filter.limit)
      .execute();
  }

  /** Per-host aggregates, optionally for a set of hosts (offer annotations) or one provider. */
  hostStats(filter: {
    provider?: string | undefined;
    machineIds?: readonly string[] | undefined;
    since?: number;
  }): Promise<HostStatsRow[]> {
    if (filter.machineIds !== undefined && filter.machineIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom("machine_attempts")
      .select((eb) => [
        "provider",
        "machine_id",
        eb.fn.countAll<number>().as("total"),
        eb.fn.sum<number>("success").as("successes"),
        eb.fn.sum<number>(sql`case when outcome = 'abandoned' then 1 else 0 end`).as("abandoned"),
        eb.fn.avg<number>("time_to_ready_s").as("avg_time_to_ready_s"),
        eb.fn.max<number>("attempted_at").as("last_seen"),
        eb.fn.max<string>("gpu_name").as("gpu_name"),
      ])
      .$if(filter.provider !== undefined, (q) => q.where("provider", "=", filter.provider ?? ""))
      .$if(filter.machineIds !== undefined, (q) => q.where("machine_id", "in", filter.machineIds ?? []))
      .$if(filter.since !== undefined, (q) => q.where("attempted_at", ">=", filter.since ?? 0))
      .groupBy(["provider", "machine_id"])
      .execute()
      .then((rows) =>
        rows.map((r) => ({
          ...r,
          total: Number(r.total),
          successes: Number(r.successes ?? 0),
          abandoned: Number(r.abandoned ?? 0),
          avg_time_to_ready_s: r.avg_time_to_ready_s === null ? null : Number(r.avg_time_to_ready_s),
          last_seen: Number(r.last_seen),
        })),
      );
  }

  /** Counts of failed attempts by stage since `since` (abandoned ones are not failures). */
  async failureStages(filter: { provider?: string | undefined; since: number }): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom("machine_attempts")
      .select(["failure_stage", sql<number>`count(*)`.as("n")])
      .where("outcome", "=", "failure")
      .where("attempted_at", ">=", filter.since)
      .$if(filter.provider !== undefined, (q) => q.where("provider", "=", filter.provider ?? ""))
      .groupBy("failure_stage")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.failure_stage ?? "unknown", Number(r.n)]));
  }

  async addBlacklist(entry: Insertable<BlacklistTable>): Promise<BlacklistRow> {
    await this.db.insertInto("blacklist").values(entry).execute();
    const row = await this.db
      .selectFrom("blacklist")
      .selectAll()
      .where("provider", "=", entry.provider)
      .where("machine_id", "=", entry.machine_id)
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    return row;
  }

  /**
   * Entries that apply to this user at `now`: automatic ones the user has not hidden, and the
   * user's own.
   */
  activeBlacklist(filter: {
    userId: string;
    now: number;
    provider?: string | undefined;
    machineIds?: readonly string[] | undefined;
  }) {
    if (filter.machineIds !== undefined && filter.machineIds.length === 0) return Promise.resolve([] as BlacklistRow[]);
    return this.db
      .selectFrom("blacklist")
      .selectAll()
      .where("removed_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", filter.now)]))
      .where((eb) => eb.or([eb("owner_id", "is", null), eb("owner_id", "=", filter.userId)]))
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom("blacklist_hides")
              .select("blacklist_hides.blacklist_id")
              .whereRef("blacklist_hides.blacklist_id", "=", "blacklist.id")
              .where("blacklist_hides.user_id", "=", filter.userId),
          ),
        ),
      )
      .$if(filter.provider !== undefined, (q) => q.where("provider", "=", filter.provider ?? ""))
      .$if(filter.machineIds !== undefined, (q) => q.where("machine_id", "in", filter.machineIds ?? []))
      .orderBy("id", "desc")
      .execute();
  }

  /** Active automatic entries of one host, whoever has hidden them. */
  activeAutomatic(filter: { provider: string; machineId: string; now: number }): Promise<BlacklistRow[]> {
    return this.db
      .selectFrom("blacklist")
      .selectAll()
      .where("kind", "=", "auto")
      .where("provider", "=", filter.provider)
      .where("machine_id", "=", filter.machineId)
      .where("removed_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", filter.now)]))
      .orderBy("id", "desc")
      .execute();
  }

  /** Automatic entries and the user's own, with `hidden_at` set where this user hid the entry. */
  listBlacklist(filter: {
    userId: string;
    includeExpired: boolean;
    now: number;
    provider?: string | undefined;
    kind?: string | undefined;
  }): Promise<BlacklistViewRow[]> {
    return this.db
      .selectFrom("blacklist")
      .leftJoin("blacklist_hides", (join) =>
        join
          .onRef("blacklist_hides.blacklist_id", "=", "blacklist.id")
          .on("blacklist_hides.user_id", "=", filter.userId),
      )
      .selectAll("blacklist")
      .select("blacklist_hides.hidden_at")
      .where((eb) => eb.or([eb("blacklist.owner_id", "is", null), eb("blacklist.owner_id", "=", filter.userId)]))
      .$if(!filter.includeExpired, (q) =>
        q
          .where("blacklist.removed_at", "is", null)
          .where((eb) => eb.or([eb("blacklist.expires_at", "is", null), eb("blacklist.expires_at", ">", filter.now)])),
      )
      .$if(filter.provider !== undefined, (q) => q.where("blacklist.provider", "=", filter.provider ?? ""))
      .$if(filter.kind !== undefined, (q) =>
        q.where("blacklist.kind", "=", filter.kind === "manual" ? "manual" : "auto"),
      )
      .orderBy("blacklist.id", "desc")
      .limit(1000)
      .execute();
  }

  /** Hides these automatic entries for one user; returns how many were not hidden before. */
  async hideBlacklist(filter: { userId: string; entryIds: readonly number[]; now: number }): Promise<number> {
    if (filter.entryIds.length === 0) return 0;
    const already = await this.db
      .selectFrom("blacklist_hides")
      .select("blacklist_id")
      .where("user_id", "=", filter.userId)
      .where("blacklist_id", "in", filter.entryIds)
      .execute();
    const hidden = new Set(already.map((h) => Number(h.blacklist_id)));
    const fresh = filter.entryIds.filter((id) => !hidden.has(id));
    if (fresh.length === 0) return 0;
    await this.db
      .insertInto("blacklist_hides")
      .values(fresh.map((id) => ({ blacklist_id: id, user_id: filter.userId, hidden_at: filter.now })))
      // A concurrent hide of the same entry by the same user is the same outcome.
      .onConflict((oc) => oc.columns(["blacklist_id", "user_id"]).doNothing())
      .execute();
    return fresh.length;
  }

  /** Removes the user's own active (manual) entries for one host. */
  async removeOwnBlacklist(filter: {
    userId: string;
    provider: string;
    machineId: string;
    now: number;
  }): Promise<number> {
    const result = await this.db
      .updateTable("blacklist")
      .set({ removed_at: filter.now })
      .where("provider", "=", filter.provider)
      .where("machine_id", "=", filter.machineId)
      .where("removed_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", filter.now)]))
      .where("owner_id", "=", filter.userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Removes one host's active automatic entries for everyone (the operator's decision). */
  async removeAutomaticBlacklist(filter: { provider: string; machineId: string; now: number }): Promise<number> {
    const result = await this.db
      .updateTable("blacklist")
      .set({ removed_at: filter.now })
      .where("provider", "=", filter.provider)
      .where("machine_id", "=", filter.machineId)
      .where("removed_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", filter.now)]))
      .where("kind", "=", "auto")
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

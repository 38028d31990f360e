import { sql, type Insertable, type Kysely, type Selectable } from "kysely";
import type { BlacklistTable, Database, MachineAttemptsTable } from "../schema";

export type AttemptRow = Selectable<MachineAttemptsTable>;
export type BlacklistRow = Selectable<BlacklistTable>;

export interface HostStatsRow {
  provider: string;
  machine_id: string;
  total: number;
  successes: number;
  avg_time_to_ready_s: number | null;
  last_seen: number;
  gpu_name: string;
}

/** Attempts and blacklist entries; aggregation happens in SQL so it scales with history. */
export class HistoryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async recordAttempt(attempt: Insertable<MachineAttemptsTable>): Promise<void> {
    await this.db.insertInto("machine_attempts").values(attempt).execute();
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

  listAttempts(filter: {
    provider?: string | undefined;
    machineId?: string | undefined;
    since: number;
    successOnly?: boolean | undefined;
    limit: number;
  }) {
    return this.db
      .selectFrom("machine_attempts")
      .selectAll()
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
          avg_time_to_ready_s: r.avg_time_to_ready_s === null ? null : Number(r.avg_time_to_ready_s),
          last_seen: Number(r.last_seen),
        })),
      );
  }

  /** Counts of failed attempts by stage since `since`. */
  async failureStages(filter: { provider?: string | undefined; since: number }): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom("machine_attempts")
      .select(["failure_stage", sql<number>`count(*)`.as("n")])
      .where("success", "=", 0)
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

  /** Entries that apply to this user at `now`: automatic ones and the user's own. */
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
      .$if(filter.provider !== undefined, (q) => q.where("provider", "=", filter.provider ?? ""))
      .$if(filter.machineIds !== undefined, (q) => q.where("machine_id", "in", filter.machineIds ?? []))
      .orderBy("id", "desc")
      .execute();
  }

  listBlacklist(filter: {
    userId: string;
    includeExpired: boolean;
    now: number;
    provider?: string | undefined;
    kind?: string | undefined;
  }) {
    return this.db
      .selectFrom("blacklist")
      .selectAll()
      .where((eb) => eb.or([eb("owner_id", "is", null), eb("owner_id", "=", filter.userId)]))
      .$if(!filter.includeExpired, (q) =>
        q
          .where("removed_at", "is", null)
          .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", filter.now)])),
      )
      .$if(filter.provider !== undefined, (q) => q.where("provider", "=", filter.provider ?? ""))
      .$if(filter.kind !== undefined, (q) => q.where("kind", "=", filter.kind === "manual" ? "manual" : "auto"))
      .orderBy("id", "desc")
      .limit(1000)
      .execute();
  }

  /** Removes the active entries this user may remove (their own, and automatic ones). */
  async removeBlacklist(filter: { userId: string; provider: string; machineId: string; now: number }): Promise<number> {
    const result = await this.db
      .updateTable("blacklist")
      .set({ removed_at: filter.now })
      .where("provider", "=", filter.provider)
      .where("machine_id", "=", filter.machineId)
      .where("removed_at", "is", null)
      .where((eb) => eb.or([eb("owner_id", "is", null), eb("owner_id", "=", filter.userId)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

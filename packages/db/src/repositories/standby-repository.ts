import type { Insertable, Kysely, Selectable } from "kysely";
import type {
  Database,
  StandbyAssociationsTable,
  StandbyConfigsTable,
  StandbyFailoversTable,
  StandbySyncsTable,
} from "../schema";

export type StandbyAssociationRow = Selectable<StandbyAssociationsTable>;
export type StandbyConfigRow = Selectable<StandbyConfigsTable>;
export type StandbySyncRow = Selectable<StandbySyncsTable>;
export type StandbyFailoverRow = Selectable<StandbyFailoversTable>;

/** Associations that still hold (or may hold) a CPU machine. */
const LIVE = ["provisioning", "syncing", "failover_active", "recovering", "disabled", "destroying"] as const;
/** Syncs kept per association: enough to read the RPO's recent history, bounded whatever the interval. */
const SYNCS_KEPT = 500;

/** Standby configs, associations, their syncs and failovers. Writes of the status go through ControlledStore. */
export class StandbyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  config(userId: string): Promise<StandbyConfigRow | undefined> {
    return this.db.selectFrom("standby_configs").selectAll().where("user_id", "=", userId).executeTakeFirst();
  }

  async saveConfig(row: StandbyConfigRow): Promise<void> {
    const { user_id: _user, ...rest } = row;
    await this.db
      .insertInto("standby_configs")
      .values(row)
      .onConflict((oc) => oc.column("user_id").doUpdateSet(rest))
      .execute();
  }

  /** By its own id, or by the instance it protects (the original or the GPU now paired), owner's only. */
  async findOwned(ownerId: string, idOrInstance: string): Promise<StandbyAssociationRow | undefined> {
    const byId = await this.db
      .selectFrom("standby_associations")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .where("id", "=", idOrInstance)
      .executeTakeFirst();
    return byId ?? this.liveForInstance(ownerId, idOrInstance);
  }

  /** The live association protecting this instance (as the original or as the GPU now paired). */
  liveForInstance(ownerId: string, instanceId: string): Promise<StandbyAssociationRow | undefined> {
    return this.db
      .selectFrom("standby_associations")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .where("status", "in", LIVE)
      .where((w) => w.or([w("instance_id", "=", instanceId), w("gpu_instance_id", "=", instanceId)]))
      .orderBy("created_at", "desc")
      .executeTakeFirst();
  }

  listOwned(ownerId: string, filter: { status?: string | undefined; limit: number }): Promise<StandbyAssociationRow[]> {
    return this.db
      .selectFrom("standby_associations")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .$if(filter.status !== undefined, (q) => q.where("status", "=", filter.status ?? ""))
      .orderBy("created_at", "desc")
      .limit(filter.limit)
      .execute();
  }

  listLive(ownerId: string): Promise<StandbyAssociationRow[]> {
    return this.db
      .selectFrom("standby_associations")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .where("status", "in", LIVE)
      .orderBy("created_at", "desc")
      .execute();
  }

  /** Every association by id (the orphan collector asks which CPU machines still have an owner). */
  async statusOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("standby_associations")
      .select(["id", "status"])
      .where("id", "in", ids)
      .execute();
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** Records a user's request for the controller; refused (false) when the row is not the owner's. */
  async requestAction(ownerId: string, id: string, action: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable("standby_associations")
      .set({ requested_action: action, next_run_at: now, updated_at: now })
      .where("id", "=", id)
      .where("owner_id", "=", ownerId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setKeepOnDelete(id: string, keep: boolean): Promise<void> {
    await this.db
      .updateTable("standby_associations")
      .set({ keep_on_delete: keep ? 1 : 0 })
      .where("id", "=", id)
      .execute();
  }

  async recordSync(row: Insertable<StandbySyncsTable>): Promise<void> {
    await this.db.insertInto("standby_syncs").values(row).execute();
    const cutoff = await this.db
      .selectFrom("standby_syncs")
      .select("id")
      .where("association_id", "=", row.association_id)
      .orderBy("id", "desc")
      .offset(SYNCS_KEPT)
      .limit(1)
      .executeTakeFirst();
    if (cutoff) {
      await this.db
        .deleteFrom("standby_syncs")
        .where("association_id", "=", row.association_id)
        .where("id", "<=", cutoff.id)
        .execute();
    }
  }

  syncs(associationId: string, limit: number): Promise<StandbySyncRow[]> {
    return this.db
      .selectFrom("standby_syncs")
      .selectAll()
      .where("association_id", "=", associationId)
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  async insertFailover(row: StandbyFailoverRow): Promise<void> {
    await this.db.insertInto("standby_failovers").values(row).execute();
  }

  failover(id: string): Promise<StandbyFailoverRow | undefined> {
    return this.db.selectFrom("standby_failovers").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async updateFailover(id: string, patch: Partial<Omit<StandbyFailoverRow, "id">>): Promise<void> {
    await this.db.updateTable("standby_failovers").set(patch).where("id", "=", id).execute();
  }

  failovers(
    ownerId: string,
    filter: { since: number; associationId?: string | undefined; limit: number },
  ): Promise<StandbyFailoverRow[]> {
    return this.db
      .selectFrom("standby_failovers")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .where("started_at", ">=", filter.since)
      .$if(filter.associationId !== undefined, (q) => q.where("association_id", "=", filter.associationId ?? ""))
      .orderBy("started_at", "desc")
      .limit(filter.limit)
      .execute();
  }
}

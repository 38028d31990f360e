import type { Kysely, Selectable } from "kysely";
import type { Database, InstancesTable } from "../schema";

export type InstanceRow = Selectable<InstancesTable>;

export class InstancesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The instance if it belongs to this owner; someone else's id reads as absent. */
  findOwned(ownerId: string, id: string): Promise<InstanceRow | undefined> {
    return this.db
      .selectFrom("instances")
      .selectAll()
      .where("id", "=", id)
      .where("owner_id", "=", ownerId)
      .executeTakeFirst();
  }

  findById(id: string): Promise<InstanceRow | undefined> {
    return this.db.selectFrom("instances").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** Live instances by default; pass a status to see others (destroyed, failed…). */
  listOwned(ownerId: string, status?: string): Promise<InstanceRow[]> {
    return this.db
      .selectFrom("instances")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .$if(status !== undefined, (q) => q.where("status", "=", status ?? ""))
      .$if(status === undefined, (q) => q.where("status", "not in", ["destroyed", "failed"]))
      .orderBy("created_at", "desc")
      .limit(500)
      .execute();
  }

  /** Machine ids this market's instances own, whatever their status (for the orphan collector). */
  async machineIdsOf(market: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom("instances")
      .select("machine_id")
      .where("market", "=", market)
      .where("machine_id", "is not", null)
      .where("status", "not in", ["destroyed", "failed"])
      .execute();
    return new Set(rows.map((r) => r.machine_id ?? ""));
  }

  async recordOrphan(entry: { market: string; machineId: string; label: string; reason: string; now: number }) {
    await this.db
      .insertInto("orphans")
      .values({
        market: entry.market,
        machine_id: entry.machineId,
        label: entry.label,
        reason: entry.reason,
        destroyed_at: entry.now,
      })
      .execute();
  }
}

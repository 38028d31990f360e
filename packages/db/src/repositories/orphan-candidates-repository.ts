import type { Kysely } from "kysely";
import type { Database } from "../schema";

/**
 * When the orphan collector first saw each machine that no live instance owns. Kept in the
 * database so a restart (or another replica) continues the grace period instead of starting it
 * over.
 */
export class OrphanCandidatesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The first time this machine was seen unowned: `now` on the first call, the stored time after. */
  async firstSeen(entry: { market: string; machineId: string; label: string; now: number }): Promise<number> {
    await this.db
      .insertInto("orphan_candidates")
      .values({ market: entry.market, machine_id: entry.machineId, label: entry.label, first_seen_at: entry.now })
      .onConflict((oc) => oc.columns(["market", "machine_id"]).doNothing())
      .execute();
    const row = await this.db
      .selectFrom("orphan_candidates")
      .select("first_seen_at")
      .where("market", "=", entry.market)
      .where("machine_id", "=", entry.machineId)
      .executeTakeFirst();
    return row?.first_seen_at ?? entry.now;
  }

  async forget(market: string, machineId: string): Promise<void> {
    await this.db
      .deleteFrom("orphan_candidates")
      .where("market", "=", market)
      .where("machine_id", "=", machineId)
      .execute();
  }

  /** Drops candidates of this market that are no longer unowned (owned again, or gone). */
  async keepOnly(market: string, machineIds: readonly string[]): Promise<void> {
    await this.db
      .deleteFrom("orphan_candidates")
      .where("market", "=", market)
      .$if(machineIds.length > 0, (q) => q.where("machine_id", "not in", machineIds))
      .execute();
  }
}

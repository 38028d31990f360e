import type { Kysely } from "kysely";
import type { Database } from "../schema";

const SLOT = "this";

/** The installation id: created by the first server that starts on a database, then shared by all. */
export class InstallationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Returns the stored id, writing `candidate` first when there is none. Replicas starting
   * together race on the primary key; every one of them reads back the single winner.
   */
  async ensureId(candidate: string, now: number): Promise<string> {
    await this.db
      .insertInto("installation")
      .values({ slot: SLOT, id: candidate, created_at: now })
      .onConflict((oc) => oc.column("slot").doNothing())
      .execute();
    const row = await this.db
      .selectFrom("installation")
      .select("id")
      .where("slot", "=", SLOT)
      .executeTakeFirstOrThrow();
    return row.id;
  }
}

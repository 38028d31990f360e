import type { Kysely, Selectable } from "kysely";
import type { CanariesTable, Database } from "../schema";

export type CanaryRow = Selectable<CanariesTable>;

export class CanariesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: CanaryRow): Promise<void> {
    await this.db.insertInto("canaries").values(row).execute();
  }

  /** The canary if it belongs to this owner; someone else's id reads as absent. */
  findOwned(ownerId: string, id: string): Promise<CanaryRow | undefined> {
    return this.db
      .selectFrom("canaries")
      .selectAll()
      .where("id", "=", id)
      .where("owner_id", "=", ownerId)
      .executeTakeFirst();
  }

  listOwned(ownerId: string): Promise<CanaryRow[]> {
    return this.db
      .selectFrom("canaries")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .orderBy("created_at", "desc")
      .limit(500)
      .execute();
  }
}

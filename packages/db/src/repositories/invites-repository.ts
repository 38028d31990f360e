import type { Kysely, Selectable } from "kysely";
import type { Database, InvitesTable } from "../schema";

export type InviteRow = Selectable<InvitesTable>;

/** Uses up an invite if it is unused, unrevoked and unexpired; false otherwise (nothing written). */
export async function consumeInvite(
  db: Kysely<Database>,
  options: { codeHash: string; userId: string; now: number },
): Promise<boolean> {
  const result = await db
    .updateTable("invites")
    .set({ used_at: options.now, used_by: options.userId })
    .where("code_hash", "=", options.codeHash)
    .where("used_at", "is", null)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", options.now)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export class InvitesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: InviteRow): Promise<void> {
    await this.db.insertInto("invites").values(row).execute();
  }

  list(limit = 500): Promise<InviteRow[]> {
    return this.db.selectFrom("invites").selectAll().orderBy("created_at", "desc").limit(limit).execute();
  }

  /** Revokes an invite nobody used yet; false when there is no such unused, unrevoked invite. */
  async revoke(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable("invites")
      .set({ revoked_at: now })
      .where("id", "=", id)
      .where("used_at", "is", null)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

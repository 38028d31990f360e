import type { Kysely, Selectable } from "kysely";
import type { Database, TokensTable } from "../schema";

export type TokenRow = Selectable<TokensTable>;

export class TokensRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(token: TokenRow): Promise<void> {
    await this.db.insertInto("tokens").values(token).execute();
  }

  /** The token with this hash if it is neither revoked nor expired at `now`. */
  findActiveByHash(tokenHash: string, now: number): Promise<TokenRow | undefined> {
    return this.db
      .selectFrom("tokens")
      .selectAll()
      .where("token_hash", "=", tokenHash)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .executeTakeFirst();
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable("tokens").set({ last_used_at: now }).where("id", "=", id).execute();
  }

  /** Revokes one of the user's tokens; false when it does not exist for this user (or already was). */
  async revoke(options: { id: string; userId: string; kind?: TokenRow["kind"]; now: number }): Promise<boolean> {
    const result = await this.db
      .updateTable("tokens")
      .set({ revoked_at: options.now })
      .where("id", "=", options.id)
      .where("user_id", "=", options.userId)
      .where("revoked_at", "is", null)
      .$if(options.kind !== undefined, (q) => q.where("kind", "=", options.kind ?? "session"))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  listApiKeys(userId: string): Promise<TokenRow[]> {
    return this.db
      .selectFrom("tokens")
      .selectAll()
      .where("user_id", "=", userId)
      .where("kind", "=", "api_key")
      .orderBy("created_at", "desc")
      .execute();
  }
}

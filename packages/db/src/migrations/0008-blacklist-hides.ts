import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/**
 * Users' hides of automatic blacklist entries. An automatic entry belongs to the operator and
 * protects everyone; a user who trusts the host anyway hides that entry for their own searches
 * only, and the entry itself stays untouched for everyone else.
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable("blacklist_hides")
    .addColumn("blacklist_id", dialect.bigIntType, (c) => c.notNull().references("blacklist.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("hidden_at", dialect.bigIntType, (c) => c.notNull())
    .addPrimaryKeyConstraint("blacklist_hides_pk", ["blacklist_id", "user_id"])
    .execute();
}

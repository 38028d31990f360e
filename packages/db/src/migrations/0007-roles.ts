import { sql, type Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/**
 * Roles (operator / user), per-user spending caps on the server's marketplace account, and
 * single-use invite codes (only their SHA-256 is stored, like tokens).
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await db.schema
    .alterTable("users")
    .addColumn("role", "text", (c) => c.notNull().defaultTo("user"))
    .execute();
  // null: the default cap (DUMONT_DEFAULT_SPEND_CAP_USD) for users, no cap for operators.
  await db.schema.alterTable("users").addColumn("spend_cap_usd", "double precision").execute();
  // An installation that existed before roles keeps its first account as the operator, so its
  // registration does not silently stay open to anyone.
  await sql`update users set role = 'operator'
    where id = (select id from users order by created_at, id limit 1)`.execute(db);

  await db.schema
    .createTable("invites")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("code_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("note", "text")
    .addColumn("created_by", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("created_at", big, (c) => c.notNull())
    .addColumn("expires_at", big, (c) => c.notNull())
    .addColumn("used_at", big)
    .addColumn("used_by", "text")
    .addColumn("revoked_at", big)
    .execute();
  await db.schema.createIndex("invites_created").on("invites").columns(["created_at"]).execute();
}

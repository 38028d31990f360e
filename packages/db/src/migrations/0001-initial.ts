import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import { createControlledTable } from "./controlled-columns";

/** Users, tokens, settings, the event log, and the canary resource. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;

  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("created_at", big, (c) => c.notNull())
    .addColumn("expires_at", big)
    .addColumn("revoked_at", big)
    .addColumn("last_used_at", big)
    .execute();
  await db.schema.createIndex("tokens_user_kind").on("tokens").columns(["user_id", "kind"]).execute();

  await db.schema
    .createTable("user_settings")
    .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
    .addColumn("vast_api_key_sealed", "text")
    .addColumn("vast_api_key_hint", "text")
    .addColumn("preferences", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("updated_at", big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("events")
    .addColumn("id", dialect.autoIncrementIdType, (c) => dialect.autoIncrementId(c))
    .addColumn("resource_type", "text", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("owner_id", "text", (c) => c.notNull())
    .addColumn("from_status", "text")
    .addColumn("to_status", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("created_at", big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("events_owner_id").on("events").columns(["owner_id", "id"]).execute();
  await db.schema.createIndex("events_resource").on("events").columns(["resource_id", "id"]).execute();

  await createControlledTable(db, dialect, "canaries")
    .addColumn("steps_total", "integer", (c) => c.notNull())
    .addColumn("steps_done", "integer", (c) => c.notNull())
    .addColumn("step_ms", "integer", (c) => c.notNull())
    .addColumn("fail_at_step", "integer")
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("canaries_due").on("canaries").columns(["status", "next_run_at"]).execute();
  await db.schema.createIndex("canaries_owner").on("canaries").columns(["owner_id", "created_at"]).execute();
}

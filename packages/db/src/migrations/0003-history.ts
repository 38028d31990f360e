import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/** Machine history (every attempt at a ready machine) and the host blacklist. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await db.schema
    .createTable("machine_attempts")
    .addColumn("id", dialect.autoIncrementIdType, (c) => dialect.autoIncrementId(c))
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("machine_id", "text", (c) => c.notNull())
    .addColumn("offer_id", "text", (c) => c.notNull())
    .addColumn("instance_id", "text")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("gpu_name", "text", (c) => c.notNull())
    .addColumn("num_gpus", "integer", (c) => c.notNull())
    .addColumn("price_per_hour", "real", (c) => c.notNull())
    .addColumn("geolocation", "text")
    .addColumn("success", "integer", (c) => c.notNull())
    .addColumn("failure_stage", "text")
    .addColumn("failure_reason", "text")
    .addColumn("time_to_ready_s", "real")
    .addColumn("attempted_at", big, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("machine_attempts_host")
    .on("machine_attempts")
    .columns(["provider", "machine_id", "attempted_at"])
    .execute();
  await db.schema.createIndex("machine_attempts_time").on("machine_attempts").columns(["attempted_at"]).execute();

  await db.schema
    .createTable("blacklist")
    .addColumn("id", dialect.autoIncrementIdType, (c) => dialect.autoIncrementId(c))
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("machine_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("owner_id", "text")
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("gpu_name", "text")
    .addColumn("created_at", big, (c) => c.notNull())
    .addColumn("expires_at", big)
    .addColumn("removed_at", big)
    .execute();
  await db.schema.createIndex("blacklist_host").on("blacklist").columns(["provider", "machine_id"]).execute();
}

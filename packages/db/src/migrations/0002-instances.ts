import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import { createControlledTable } from "./controlled-columns";

/** Rented machines, SSH keys, and the log of orphaned machines the collector destroyed. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await createControlledTable(db, dialect, "instances")
    .addColumn("market", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("machine_id", "text")
    .addColumn("offer_id", "text", (c) => c.notNull())
    .addColumn("label", "text", (c) => c.notNull())
    .addColumn("user_label", "text")
    .addColumn("gpu_name", "text", (c) => c.notNull())
    .addColumn("num_gpus", "integer", (c) => c.notNull())
    .addColumn("price_per_hour", "real", (c) => c.notNull())
    .addColumn("bid_price", "real")
    .addColumn("image", "text", (c) => c.notNull())
    .addColumn("disk_gb", "integer", (c) => c.notNull())
    .addColumn("env", "text", (c) => c.notNull())
    .addColumn("onstart", "text")
    .addColumn("geolocation", "text")
    .addColumn("host_machine_id", "text")
    .addColumn("ssh_host", "text")
    .addColumn("ssh_port", "integer")
    .addColumn("status_message", "text")
    .addColumn("error", "text")
    .addColumn("create_attempted_at", big)
    .addColumn("ready_at", big)
    .execute();
  await db.schema.createIndex("instances_due").on("instances").columns(["status", "next_run_at"]).execute();
  await db.schema.createIndex("instances_owner").on("instances").columns(["owner_id", "created_at"]).execute();
  await db.schema.createIndex("instances_machine").on("instances").columns(["market", "machine_id"]).execute();

  await db.schema
    .createTable("ssh_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("owner_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("private_key_sealed", "text")
    .addColumn("created_at", big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("ssh_keys_owner").on("ssh_keys").columns(["owner_id", "kind"]).execute();

  await db.schema
    .createTable("orphans")
    .addColumn("id", dialect.autoIncrementIdType, (c) => dialect.autoIncrementId(c))
    .addColumn("market", "text", (c) => c.notNull())
    .addColumn("machine_id", "text", (c) => c.notNull())
    .addColumn("label", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("destroyed_at", big, (c) => c.notNull())
    .execute();
}

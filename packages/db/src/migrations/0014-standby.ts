import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import { createControlledTable } from "./controlled-columns";

/** CPU standbys: each user's settings, the associations the controller drives, syncs and failovers. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await db.schema
    .createTable("standby_configs")
    .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
    .addColumn("zone", "text", (c) => c.notNull())
    .addColumn("machine_type", "text", (c) => c.notNull())
    .addColumn("disk_gb", "integer", (c) => c.notNull())
    .addColumn("spot", "integer", (c) => c.notNull())
    .addColumn("sync_interval_s", "integer", (c) => c.notNull())
    .addColumn("auto_standby", "integer", (c) => c.notNull())
    .addColumn("auto_failover", "integer", (c) => c.notNull())
    .addColumn("auto_recovery", "integer", (c) => c.notNull())
    .addColumn("excludes", "text", (c) => c.notNull())
    .addColumn("updated_at", big, (c) => c.notNull())
    .execute();

  await createControlledTable(db, dialect, "standby_associations")
    .addColumn("instance_id", "text", (c) => c.notNull())
    .addColumn("gpu_instance_id", "text", (c) => c.notNull())
    .addColumn("standby_market", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("zone", "text", (c) => c.notNull())
    .addColumn("machine_type", "text", (c) => c.notNull())
    .addColumn("disk_gb", "integer", (c) => c.notNull())
    .addColumn("spot", "integer", (c) => c.notNull())
    .addColumn("vm_name", "text", (c) => c.notNull())
    .addColumn("vm_ssh_host", "text")
    .addColumn("vm_ssh_port", "integer")
    .addColumn("vm_host_key", "text")
    .addColumn("create_attempted_at", big)
    .addColumn("vm_ready_at", big)
    .addColumn("price_per_hour", "real", (c) => c.notNull())
    .addColumn("active_role", "text", (c) => c.notNull())
    .addColumn("sync_interval_s", "integer", (c) => c.notNull())
    .addColumn("excludes", "text", (c) => c.notNull())
    .addColumn("sync_key_private_sealed", "text", (c) => c.notNull())
    .addColumn("sync_key_public", "text", (c) => c.notNull())
    .addColumn("sync_key_installed_on", "text")
    .addColumn("auto_failover", "integer", (c) => c.notNull())
    .addColumn("auto_recovery", "integer", (c) => c.notNull())
    .addColumn("requested_action", "text")
    .addColumn("keep_on_delete", "integer", (c) => c.notNull())
    .addColumn("sync_count", "integer", (c) => c.notNull())
    .addColumn("last_sync_at", big)
    .addColumn("last_sync_bytes", big)
    .addColumn("last_sync_files", "integer")
    .addColumn("last_sync_duration_ms", "integer")
    .addColumn("last_sync_error", "text")
    .addColumn("standby_files", "integer")
    .addColumn("health_failures", "integer", (c) => c.notNull())
    .addColumn("last_health_at", big)
    .addColumn("last_health_error", "text")
    .addColumn("gpu_lost_at", big)
    .addColumn("failover_id", "text")
    .addColumn("recovery_deployment_id", "text")
    .addColumn("recovery_attempts", "integer", (c) => c.notNull())
    .addColumn("active_since", big, (c) => c.notNull())
    .addColumn("error", "text")
    .execute();
  await db.schema
    .createIndex("standby_associations_due")
    .on("standby_associations")
    .columns(["status", "next_run_at"])
    .execute();
  await db.schema
    .createIndex("standby_associations_owner")
    .on("standby_associations")
    .columns(["owner_id", "created_at"])
    .execute();
  await db.schema
    .createIndex("standby_associations_instance")
    .on("standby_associations")
    .columns(["instance_id"])
    .execute();
  await db.schema
    .createIndex("standby_associations_gpu")
    .on("standby_associations")
    .columns(["gpu_instance_id"])
    .execute();

  await db.schema
    .createTable("standby_syncs")
    .addColumn("id", dialect.autoIncrementIdType, (c) => dialect.autoIncrementId(c))
    .addColumn("association_id", "text", (c) => c.notNull().references("standby_associations.id").onDelete("cascade"))
    .addColumn("owner_id", "text", (c) => c.notNull())
    .addColumn("direction", "text", (c) => c.notNull())
    .addColumn("started_at", big, (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("bytes", big, (c) => c.notNull())
    .addColumn("files", "integer", (c) => c.notNull())
    .addColumn("ok", "integer", (c) => c.notNull())
    .addColumn("error", "text")
    .execute();
  await db.schema
    .createIndex("standby_syncs_association")
    .on("standby_syncs")
    .columns(["association_id", "id"])
    .execute();

  await db.schema
    .createTable("standby_failovers")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("association_id", "text", (c) => c.notNull().references("standby_associations.id").onDelete("cascade"))
    .addColumn("owner_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("started_at", big, (c) => c.notNull())
    .addColumn("phases", "text", (c) => c.notNull())
    .addColumn("completed_at", big)
    .addColumn("success", "integer")
    .addColumn("error", "text")
    .addColumn("from_instance_id", "text")
    .addColumn("to_instance_id", "text")
    .addColumn("data_age_ms", big)
    .execute();
  await db.schema
    .createIndex("standby_failovers_owner")
    .on("standby_failovers")
    .columns(["owner_id", "started_at"])
    .execute();
}

import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import { createControlledTable } from "./controlled-columns";

/** Jobs: a command on a rented machine, its attempts, exit code and cost. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await createControlledTable(db, dialect, "jobs")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("hf_token_sealed", "text")
    .addColumn("market", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("attempts", "text", (c) => c.notNull())
    .addColumn("deployment_id", "text")
    .addColumn("instance_id", "text")
    .addColumn("exit_code", "integer")
    .addColumn("outcome", "text")
    .addColumn("error", "text")
    .addColumn("start_at", big)
    .addColumn("started_at", big)
    .addColumn("run_started_at", big)
    .addColumn("completed_at", big)
    .addColumn("log_offset", big, (c) => c.notNull())
    .addColumn("price_per_hour", "real")
    .addColumn("gpu_seconds", "real", (c) => c.notNull())
    .addColumn("last_checkpoint_at", big)
    .execute();
  await db.schema.createIndex("jobs_due").on("jobs").columns(["status", "next_run_at"]).execute();
  await db.schema.createIndex("jobs_owner").on("jobs").columns(["owner_id", "created_at"]).execute();
}

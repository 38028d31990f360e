import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import { createControlledTable } from "./controlled-columns";

/** Wizard deployments, candidate links on instances, and offer claims against double purchases. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await createControlledTable(db, dialect, "deployments")
    .addColumn("strategy", "text", (c) => c.notNull())
    .addColumn("config", "text", (c) => c.notNull())
    .addColumn("market", "text", (c) => c.notNull())
    .addColumn("candidates", "text", (c) => c.notNull())
    .addColumn("next_candidate", "integer", (c) => c.notNull())
    .addColumn("batch", "integer", (c) => c.notNull())
    .addColumn("batch_started_at", big)
    .addColumn("offers_found", "integer", (c) => c.notNull())
    .addColumn("winner_instance_id", "text")
    .addColumn("outcome", "text")
    .addColumn("error", "text")
    .addColumn("ready_at", big)
    .execute();
  await db.schema.createIndex("deployments_due").on("deployments").columns(["status", "next_run_at"]).execute();
  await db.schema.createIndex("deployments_owner").on("deployments").columns(["owner_id", "created_at"]).execute();

  await db.schema.alterTable("instances").addColumn("deployment_id", "text").execute();
  await db.schema.alterTable("instances").addColumn("batch", "integer").execute();
  await db.schema.createIndex("instances_deployment").on("instances").columns(["deployment_id"]).execute();

  await db.schema
    .createTable("offer_claims")
    .addColumn("market", "text", (c) => c.notNull())
    .addColumn("offer_id", "text", (c) => c.notNull())
    .addColumn("instance_id", "text", (c) => c.notNull())
    .addColumn("claimed_at", big, (c) => c.notNull())
    .addPrimaryKeyConstraint("offer_claims_pk", ["market", "offer_id"])
    .execute();
  await db.schema.createIndex("offer_claims_instance").on("offer_claims").columns(["instance_id"]).execute();
}

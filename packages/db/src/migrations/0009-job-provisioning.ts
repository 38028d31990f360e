import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/** When the job's current attempt began looking for a machine: its provisioning deadline counts from here. */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable("jobs").addColumn("provision_started_at", dialect.bigIntType).execute();
}

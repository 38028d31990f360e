import { sql, type Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/**
 * Every rented machine's boot outcome: `success`, `failure`, or `abandoned` (destroyed before it
 * was ready through no fault of the host: a race loser, a delete while booting). Abandoned
 * attempts count as rented but never in failure rates. Existing rows keep what `success` said.
 * One outcome per instance: the index serves the "already recorded for this instance?" check.
 */
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .alterTable("machine_attempts")
    .addColumn("outcome", "text", (c) => c.notNull().defaultTo("failure"))
    .execute();
  await sql`update machine_attempts set outcome = 'success' where success = 1`.execute(db);
  await db.schema.createIndex("machine_attempts_instance").on("machine_attempts").columns(["instance_id"]).execute();
}

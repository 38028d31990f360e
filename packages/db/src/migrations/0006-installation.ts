import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/**
 * The installation id (one per database, so replicas on one PostgreSQL share it) that goes into
 * every machine label, and the orphan collector's first sightings (its grace survives restarts).
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const big = dialect.bigIntType;
  await db.schema
    .createTable("installation")
    .addColumn("slot", "text", (c) => c.primaryKey())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("created_at", big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("orphan_candidates")
    .addColumn("market", "text", (c) => c.notNull())
    .addColumn("machine_id", "text", (c) => c.notNull())
    .addColumn("label", "text", (c) => c.notNull())
    .addColumn("first_seen_at", big, (c) => c.notNull())
    .addPrimaryKeyConstraint("orphan_candidates_pk", ["market", "machine_id"])
    .execute();
}

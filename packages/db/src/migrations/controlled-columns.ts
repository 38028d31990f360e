import type { CreateTableBuilder, Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/**
 * Starts a table the controller runner drives: the id, the owner, and the status and lease
 * columns of `ControlledColumns` (schema.ts). Each migration adds its resource's own columns.
 */
export function createControlledTable(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  name: string,
): CreateTableBuilder<string, "id" | "owner_id" | "status"> {
  const big = dialect.bigIntType;
  return db.schema
    .createTable(name)
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("owner_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", big)
    .addColumn("next_run_at", big, (c) => c.notNull())
    .addColumn("created_at", big, (c) => c.notNull())
    .addColumn("updated_at", big, (c) => c.notNull());
}

import type { Kysely } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";

/**
 * What the boot probe saw over SSH when the machine first answered: the GPUs `nvidia-smi -L`
 * listed and the size of /workspace. The wizard verifies its candidates from these instead of
 * opening a second SSH session. Null until a probe reported them (and on rows from before).
 */
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable("instances").addColumn("probed_gpus", "integer").execute();
  await db.schema.alterTable("instances").addColumn("probed_disk_kb", dialect.bigIntType).execute();
}

import type { Kysely, Migration } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import * as initial from "./0001-initial";

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void>;
}

/** Ordered list of migrations, compiled into the bundle (no migration files to ship beside it). */
const MIGRATIONS: Record<string, DialectMigration> = {
  "0001-initial": initial,
};

export function migrationsFor(dialect: SqlDialect): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(MIGRATIONS).map(([name, m]) => [name, { up: (db: Kysely<unknown>) => m.up(db, dialect) }]),
  );
}

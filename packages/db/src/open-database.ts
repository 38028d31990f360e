import { Kysely, Migrator } from "kysely";
import type { Database } from "./schema";
import type { SqlDialect } from "./dialect/sql-dialect";
import { createSqliteDialect } from "./dialect/sqlite-dialect";
import { createPostgresDialect } from "./dialect/postgres-dialect";
import { migrationsFor } from "./migrations/index";

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: SqlDialect;
  close(): Promise<void>;
}

export interface DatabaseLocation {
  /** postgres://… switches to PostgreSQL; anything else is ignored in favour of sqliteFile. */
  url?: string | undefined;
  sqliteFile: string;
  /** PostgreSQL schema to use (created when missing). */
  postgresSchema?: string | undefined;
}

export function dialectFor(location: DatabaseLocation): SqlDialect {
  const url = location.url;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    return createPostgresDialect({ url, schema: location.postgresSchema });
  }
  return createSqliteDialect(location.sqliteFile);
}

/** Opens the database and applies pending migrations; safe when several replicas start at once. */
export async function openDatabase(dialect: SqlDialect): Promise<OpenedDatabase> {
  await dialect.prepare?.();
  const db = new Kysely<Database>({ dialect: dialect.createKyselyDialect() });
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrationsFor(dialect)) },
    ...(dialect.schema ? { migrationTableSchema: dialect.schema } : {}),
  });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(`database migration failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, {
      cause: error,
    });
  }
  return { db, dialect, close: () => db.destroy() };
}

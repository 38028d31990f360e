import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export type TestDialectName = "sqlite" | "postgres";

/** PostgreSQL used by tests: the machine's local server (trust auth, database `test`). */
export const TEST_POSTGRES_URL = process.env.DUMONT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  name: TestDialectName;
  /** DATABASE_URL for a server, or undefined for SQLite in the server's home. */
  databaseUrl: string | undefined;
  /** A schema of its own, so parallel test files never see each other's rows. */
  pgSchema: string | undefined;
}

let postgresReachable: Promise<boolean> | undefined;

async function canReachPostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The dialects a storage test runs against. PostgreSQL is skipped when unreachable on a developer
 * machine, but with CI=true an unreachable PostgreSQL is an error: CI must test both.
 */
export async function testDialects(): Promise<TestDialectName[]> {
  postgresReachable ??= canReachPostgres();
  if (await postgresReachable) return ["sqlite", "postgres"];
  if (process.env.CI === "true") {
    throw new Error(`PostgreSQL is unreachable at ${TEST_POSTGRES_URL} and CI=true: start it, do not skip it`);
  }
  console.warn(`PostgreSQL unreachable at ${TEST_POSTGRES_URL}: running SQLite only`);
  return ["sqlite"];
}

export function testDatabase(name: TestDialectName): TestDatabase {
  if (name === "sqlite") return { name, databaseUrl: undefined, pgSchema: undefined };
  const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  return { name, databaseUrl: TEST_POSTGRES_URL, pgSchema: schema };
}

/** Drops a test schema (and everything in it). */
export async function dropTestSchema(database: TestDatabase): Promise<void> {
  if (!database.pgSchema || !database.databaseUrl) return;
  const client = new pg.Client({ connectionString: database.databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${database.pgSchema} cascade`);
  } finally {
    await client.end();
  }
}

export function tempDir(prefix = "dumont-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

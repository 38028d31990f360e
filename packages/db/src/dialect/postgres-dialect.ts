import pg from "pg";
import { PostgresDialect as KyselyPostgresDialect } from "kysely";
import type { SqlDialect } from "./sql-dialect";

// int8 columns come back as strings by default; our bigints are epoch milliseconds, far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface PostgresDialectOptions {
  url: string;
  /** Schema to create and use (tests give each run its own); default: the server's search_path. */
  schema?: string;
  poolSize?: number;
}

export function createPostgresDialect(options: PostgresDialectOptions): SqlDialect {
  const { schema } = options;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name: ${schema}`);
  }
  return {
    name: "postgres",
    schema,
    supportsRowLocks: true,
    supportsSkipLocked: true,
    supportsMultipleProcesses: true,
    autoIncrementIdType: "bigserial",
    bigIntType: "bigint",
    description: `postgres ${redactUrl(options.url)}${schema ? ` (schema ${schema})` : ""}`,
    isUniqueViolation: (error) => (error as { code?: string } | null)?.code === "23505",
    autoIncrementId: (col) => col.primaryKey(),
    async prepare() {
      if (!schema) return;
      const client = new pg.Client({ connectionString: options.url });
      await client.connect();
      try {
        await client.query(`create schema if not exists ${schema}`);
      } catch (error) {
        // Two replicas starting together can both pass "if not exists"; the loser sees a duplicate.
        const code = (error as { code?: string }).code;
        if (code !== "23505" && code !== "42P06") throw error;
      } finally {
        await client.end();
      }
    },
    createKyselyDialect() {
      const pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        ...(schema ? { options: `-c search_path=${schema}` } : {}),
      });
      return new KyselyPostgresDialect({ pool });
    },
  };
}

/** postgres://user:secret@host/db → postgres://user:***@host/db */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "postgres (unparseable URL)";
  }
}

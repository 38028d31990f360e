import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { SqliteDialect as KyselySqliteDialect } from "kysely";
import type { SqlDialect } from "./sql-dialect";

export function createSqliteDialect(file: string): SqlDialect {
  return {
    name: "sqlite",
    supportsRowLocks: false,
    supportsSkipLocked: false,
    // WAL plus a busy timeout lets a second process share the file, but writes serialise on one
    // file lock, so replicas are a PostgreSQL feature.
    supportsMultipleProcesses: false,
    autoIncrementIdType: "integer",
    bigIntType: "integer",
    description: file === ":memory:" ? "sqlite (in memory)" : `sqlite ${file}`,
    isUniqueViolation: (error) =>
      (error as { code?: string } | null)?.code === "SQLITE_CONSTRAINT_UNIQUE" ||
      (error as { code?: string } | null)?.code === "SQLITE_CONSTRAINT_PRIMARYKEY",
    autoIncrementId: (col) => col.primaryKey().autoIncrement(),
    createKyselyDialect() {
      if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
      const database = new BetterSqlite3(file);
      database.pragma("journal_mode = WAL");
      database.pragma("busy_timeout = 5000");
      database.pragma("foreign_keys = ON");
      // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the tail).
      database.pragma("synchronous = NORMAL");
      return new KyselySqliteDialect({ database });
    },
  };
}

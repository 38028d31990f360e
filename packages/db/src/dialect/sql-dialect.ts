import type { ColumnDefinitionBuilder, Dialect } from "kysely";

export type DialectName = "sqlite" | "postgres";

/**
 * What differs between the databases we support, as data. Code asks `supportsRowLocks`, never
 * `name === "postgres"`.
 */
export interface SqlDialect {
  readonly name: DialectName;
  /** SELECT … FOR UPDATE inside a transaction. SQLite locks the whole file instead. */
  readonly supportsRowLocks: boolean;
  /** FOR UPDATE SKIP LOCKED, so replicas claim disjoint rows without waiting on each other. */
  readonly supportsSkipLocked: boolean;
  /** Several server processes may share this database safely. */
  readonly supportsMultipleProcesses: boolean;
  /** Kysely dialect that talks to the database. */
  createKyselyDialect(): Dialect;
  /** Column type and modifiers for an auto-incrementing integer primary key. */
  autoIncrementId(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  readonly autoIncrementIdType: "integer" | "bigserial";
  /** 64-bit integer column type for epoch-millisecond times. */
  readonly bigIntType: "integer" | "bigint";
  /** Whether a driver error is a unique-constraint violation (e.g. a duplicate email). */
  isUniqueViolation(error: unknown): boolean;
  /** Human description for logs and /health, without credentials. */
  readonly description: string;
  /**
   * Schema that holds the tables (PostgreSQL with DUMONT_PG_SCHEMA); undefined = the connection's
   * default. The migrator must be told: otherwise it sees another schema's migration tables in the
   * same database, skips creating its own, and fails.
   */
  readonly schema?: string | undefined;
  /** One-time preparation before the first connection (e.g. create the schema). */
  prepare?(): Promise<void>;
}

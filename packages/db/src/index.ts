/** @module Storage: the schema, both SQL dialects, migrations and repositories. */
export * from "./schema";
export * from "./dialect/sql-dialect";
export * from "./dialect/sqlite-dialect";
export * from "./dialect/postgres-dialect";
export * from "./open-database";
export * from "./repositories/users-repository";
export * from "./repositories/tokens-repository";
export * from "./repositories/settings-repository";
export * from "./repositories/events-repository";
export * from "./repositories/canaries-repository";
export * from "./controlled-store";
export * from "./repositories/instances-repository";
export * from "./repositories/ssh-keys-repository";
export * from "./repositories/history-repository";
export * from "./repositories/deployments-repository";
export * from "./repositories/jobs-repository";

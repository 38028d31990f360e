import type { Kysely, Migration } from "kysely";
import type { SqlDialect } from "../dialect/sql-dialect";
import * as initial from "./0001-initial";
import * as instances from "./0002-instances";
import * as history from "./0003-history";
import * as wizard from "./0004-wizard";
import * as jobs from "./0005-jobs";
import * as installation from "./0006-installation";
import * as roles from "./0007-roles";
import * as blacklistHides from "./0008-blacklist-hides";
import * as jobProvisioning from "./0009-job-provisioning";
import * as attemptOutcome from "./0011-attempt-outcome";
import * as bootProbe from "./0013-boot-probe";
import * as standby from "./0014-standby";
import * as userGcpCredentials from "./0015-user-gcp-credentials";

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void>;
}

/** Ordered list of migrations, compiled into the bundle (no migration files to ship beside it). */
const MIGRATIONS: Record<string, DialectMigration> = {
  "0001-initial": initial,
  "0002-instances": instances,
  "0003-history": history,
  "0004-wizard": wizard,
  "0005-jobs": jobs,
  "0006-installation": installation,
  "0007-roles": roles,
  "0008-blacklist-hides": blacklistHides,
  "0009-job-provisioning": jobProvisioning,
  "0011-attempt-outcome": attemptOutcome,
  "0013-boot-probe": bootProbe,
  "0014-standby": standby,
  "0015-user-gcp-credentials": userGcpCredentials,
};

export function migrationsFor(dialect: SqlDialect): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(MIGRATIONS).map(([name, m]) => [name, { up: (db: Kysely<unknown>) => m.up(db, dialect) }]),
  );
}

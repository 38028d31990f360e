import type { Kysely } from "kysely";
import type { Database } from "../schema";

/** What spending needs of one instance rented on a shared (not the user's own) account. */
export interface BilledMachine {
  owner_id: string;
  status: string;
  price_per_hour: number;
  /** When the marketplace create call was made (from then on it may cost money); null = not yet. */
  create_attempted_at: number | null;
  /** For a destroyed or failed instance, when it ended (its last transition). */
  updated_at: number;
}

/**
 * Reads the machines that count against spending caps: every instance on a shared account (not
 * the user's own key) and every CPU standby that was rented or is still live (a live row not yet
 * rented will be).
 */
export class SpendingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * One user's machines, or everyone's when ownerId is undefined: GPU instances on a shared
   * account, and CPU standbys (always on the server's GCP project or the embedded one).
   */
  billedMachines(ownerId?: string): Promise<BilledMachine[]> {
    const instances = this.db
      .selectFrom("instances")
      .select(["owner_id", "status", "price_per_hour", "create_attempted_at", "updated_at"])
      .where("market", "!=", "user")
      .where((eb) =>
        eb.or([eb("create_attempted_at", "is not", null), eb("status", "not in", ["destroyed", "failed"])]),
      )
      .$if(ownerId !== undefined, (q) => q.where("owner_id", "=", ownerId ?? ""));
    const standbys = this.db
      .selectFrom("standby_associations")
      .select(["owner_id", "status", "price_per_hour", "create_attempted_at", "updated_at"])
      .where((eb) =>
        eb.or([eb("create_attempted_at", "is not", null), eb("status", "not in", ["destroyed", "failed"])]),
      )
      .$if(ownerId !== undefined, (q) => q.where("owner_id", "=", ownerId ?? ""));
    return instances.unionAll(standbys).execute();
  }
}

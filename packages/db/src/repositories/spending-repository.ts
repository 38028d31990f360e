import type { Kysely } from "kysely";
import type { Database } from "../schema";

/** What spending needs of one instance rented on a shared (not the user's own) account. */
export interface BilledMachine {
  owner_id: string;
  status: string;
  price_per_hour: number;
  /** When the marketplace create call was made: from then on the machine may cost money. */
  create_attempted_at: number;
  /** For a destroyed or failed instance, when it ended (its last transition). */
  updated_at: number;
}

/** Reads the instances that count against spending caps: every one rented on a shared account. */
export class SpendingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** One user's machines, or everyone's when ownerId is undefined. */
  async billedMachines(ownerId?: string): Promise<BilledMachine[]> {
    const rows = await this.db
      .selectFrom("instances")
      .select(["owner_id", "status", "price_per_hour", "create_attempted_at", "updated_at"])
      .where("market", "!=", "user")
      .where("create_attempted_at", "is not", null)
      .$if(ownerId !== undefined, (q) => q.where("owner_id", "=", ownerId ?? ""))
      .execute();
    return rows.map((r) => ({ ...r, create_attempted_at: r.create_attempted_at ?? 0 }));
  }
}

import type { Insertable, Kysely, Selectable } from "kysely";
import type { Database, DeploymentsTable, EventsTable } from "../schema";
import type { InstanceRow } from "./instances-repository";
import type { SqlDialect } from "../dialect/sql-dialect";

export type DeploymentRow = Selectable<DeploymentsTable>;

export class DeploymentsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  findOwned(ownerId: string, id: string): Promise<DeploymentRow | undefined> {
    return this.db
      .selectFrom("deployments")
      .selectAll()
      .where("id", "=", id)
      .where("owner_id", "=", ownerId)
      .executeTakeFirst();
  }

  listOwned(ownerId: string): Promise<DeploymentRow[]> {
    return this.db
      .selectFrom("deployments")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .orderBy("created_at", "desc")
      .limit(100)
      .execute();
  }

  candidates(deploymentId: string): Promise<InstanceRow[]> {
    return this.db
      .selectFrom("instances")
      .selectAll()
      .where("deployment_id", "=", deploymentId)
      .orderBy("created_at")
      .execute();
  }

  /**
   * Inserts a wizard candidate, its offer claim and its creation event in one transaction: either
   * the offer was free and the candidate exists, or nothing was written (false).
   */
  async insertCandidate(options: {
    instance: InstanceRow;
    event: Insertable<EventsTable>;
    now: number;
  }): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("offer_claims")
          .values({
            market: options.instance.market,
            offer_id: options.instance.offer_id,
            instance_id: options.instance.id,
            claimed_at: options.now,
          })
          .execute();
        await trx.insertInto("instances").values(options.instance).execute();
        await trx.insertInto("events").values(options.event).execute();
      });
      return true;
    } catch (error) {
      if (this.dialect.isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Offers live candidates hold on this market right now. */
  async claimedOffers(market: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom("offer_claims").select("offer_id").where("market", "=", market).execute();
    return new Set(rows.map((r) => r.offer_id));
  }

  /** Frees the offers an instance held (when it is destroyed or failed). */
  async releaseClaims(instanceId: string): Promise<void> {
    await this.db.deleteFrom("offer_claims").where("instance_id", "=", instanceId).execute();
  }
}

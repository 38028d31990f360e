import type { Kysely, Selectable } from "kysely";
import type { Database, JobsTable } from "../schema";

export type JobRow = Selectable<JobsTable>;

export class JobsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findOwned(ownerId: string, id: string): Promise<JobRow | undefined> {
    return this.db
      .selectFrom("jobs")
      .selectAll()
      .where("id", "=", id)
      .where("owner_id", "=", ownerId)
      .executeTakeFirst();
  }

  listOwned(ownerId: string, filter: { status?: string | undefined; limit: number }): Promise<JobRow[]> {
    return this.db
      .selectFrom("jobs")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .$if(filter.status !== undefined, (q) => q.where("status", "=", filter.status ?? ""))
      .orderBy("created_at", "desc")
      .limit(filter.limit)
      .execute();
  }

  /** Ids of the jobs whose current step waits on this deployment (its winner, or its cleanup). */
  async waitingOnDeployment(deploymentId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .select("id")
      .where("status", "in", ["provisioning", "stopping"])
      .where("deployment_id", "=", deploymentId)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Ids of the live jobs on this machine (a lost machine ends their attempt; stopping waits for it to go). */
  async onInstance(instanceId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .select("id")
      .where("status", "in", ["setting_up", "running", "collecting", "stopping"])
      .where("instance_id", "=", instanceId)
      .execute();
    return rows.map((r) => r.id);
  }
}

import type { Insertable, Kysely, Selectable } from "kysely";
import type { Database, EventsTable } from "../schema";

export type EventRow = Selectable<EventsTable>;
export type NewEvent = Insertable<EventsTable>;

export interface EventQuery {
  ownerId: string;
  resourceId?: string | undefined;
  resourceType?: string | undefined;
  afterId: number;
  limit: number;
}

export class EventsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async append(event: NewEvent): Promise<void> {
    await this.db.insertInto("events").values(event).execute();
  }

  /** The owner's events, oldest first; scoped by owner so nobody reads another user's history. */
  list(query: EventQuery): Promise<EventRow[]> {
    return this.db
      .selectFrom("events")
      .selectAll()
      .where("owner_id", "=", query.ownerId)
      .where("id", ">", query.afterId)
      .$if(query.resourceId !== undefined, (q) => q.where("resource_id", "=", query.resourceId ?? ""))
      .$if(query.resourceType !== undefined, (q) => q.where("resource_type", "=", query.resourceType ?? ""))
      .orderBy("id", "asc")
      .limit(query.limit)
      .execute();
  }

  /** Every event of one resource, for tests and audits. */
  forResource(resourceId: string): Promise<EventRow[]> {
    return this.db.selectFrom("events").selectAll().where("resource_id", "=", resourceId).orderBy("id").execute();
  }
}

import type { EventRow } from "@dumont/db";
import type { HandlersFor } from "../http/handler-types";
import { iso, type ServerContext } from "../server-context";

/** The transition log every controller writes, readable by the owner of each resource. */
export function eventHandlers(ctx: ServerContext): HandlersFor<"listEvents"> {
  return {
    listEvents: async ({ query }, { principal }) => {
      const events = await ctx.repos.events.list({
        ownerId: principal.user.id,
        ...parseResource(query.resource),
        afterId: query.after,
        limit: query.limit,
      });
      return { events: events.map(eventView), next_after: events.at(-1)?.id ?? query.after };
    },
  };
}

/** `can_123` or `canaries:can_123`. */
function parseResource(resource: string | undefined): { resourceId?: string; resourceType?: string } {
  if (resource === undefined) return {};
  const colon = resource.indexOf(":");
  if (colon === -1) return { resourceId: resource };
  return { resourceType: resource.slice(0, colon), resourceId: resource.slice(colon + 1) };
}

export function eventView(row: EventRow) {
  return {
    id: row.id,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    from_status: row.from_status,
    to_status: row.to_status,
    reason: row.reason,
    actor: row.actor,
    created_at: iso(row.created_at),
  };
}

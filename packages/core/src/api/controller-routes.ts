import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, Timestamp } from "./common-schemas";
import { CANARY_MACHINE } from "../canary/canary-machine";

export const ResourceEvent = z
  .object({
    id: z.number().int(),
    resource_type: z.string(),
    resource_id: z.string(),
    from_status: z.string().nullable(),
    to_status: z.string(),
    reason: z.string(),
    actor: z.string().describe("The server process (or user) that made the transition"),
    created_at: Timestamp,
  })
  .meta({ id: "ResourceEvent" });

export const EventsQuery = z.object({
  resource: z.string().max(80).optional().describe("A resource id, or type:id; omitted = all your resources"),
  after: z.coerce.number().int().min(0).default(0).describe("Only events with a larger id (for paging)"),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const Canary = z
  .object({
    id: z.string(),
    status: z.enum(CANARY_MACHINE.statuses),
    steps_total: z.number().int(),
    steps_done: z.number().int(),
    step_ms: z.number().int(),
    error: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Canary" });

export const controllerRoutes = {
  listEvents: defineRoute({
    method: "GET",
    path: "/api/v1/events",
    summary: "State transitions of your resources, oldest first",
    tag: "events",
    auth: true,
    successStatus: 200,
    query: EventsQuery,
    response: z.object({ events: z.array(ResourceEvent), next_after: z.number().int() }),
  }),
  createCanary: defineRoute({
    method: "POST",
    path: "/api/v1/canaries",
    summary: "Start a synthetic multi-step resource that proves the controllers work",
    tag: "canaries",
    auth: true,
    successStatus: 201,
    body: z.object({
      steps: z.number().int().min(1).max(100).default(3),
      step_ms: z.number().int().min(0).max(60_000).default(200),
      fail_at_step: z.number().int().min(1).max(100).optional().describe("Make that step fail (for drills)"),
    }),
    response: Canary,
  }),
  listCanaries: defineRoute({
    method: "GET",
    path: "/api/v1/canaries",
    summary: "Your canaries, newest first",
    tag: "canaries",
    auth: true,
    successStatus: 200,
    response: z.object({ canaries: z.array(Canary), count: z.number().int() }),
  }),
  getCanary: defineRoute({
    method: "GET",
    path: "/api/v1/canaries/{id}",
    summary: "One canary",
    tag: "canaries",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Canary,
  }),
  cancelCanary: defineRoute({
    method: "POST",
    path: "/api/v1/canaries/{id}/cancel",
    summary: "Cancel a canary that has not finished",
    tag: "canaries",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Canary,
  }),
} as const;

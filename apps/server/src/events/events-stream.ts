import type { FastifyInstance } from "fastify";
import { type z } from "zod";
import { EventsQuery } from "@dumont/core";
import type { ServerContext } from "../server-context";
import { eventView } from "./event-handlers";
import { authenticateHook } from "../http/register-routes";

const POLL_MS = 500;
const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events of the caller's resource transitions. It polls the event table rather than
 * an in-process bus, so a client connected to one replica sees transitions made by any replica.
 */
export function registerEventStream(app: FastifyInstance, ctx: ServerContext): void {
  app.route({
    method: "GET",
    url: "/api/v1/events/stream",
    schema: {
      operationId: "streamEvents",
      summary: "Live stream (text/event-stream) of your resources' transitions",
      tags: ["events"],
      security: [{ bearer: [] }],
      querystring: EventsQuery.omit({ limit: true }),
    },
    preValidation: authenticateHook(ctx.auth),
    handler: async (request, reply) => {
      const query = request.query as z.infer<typeof EventsQuery>;
      const principal = request.principal;
      if (!principal) throw new Error("authenticated route without principal");
      const lastEventId = Number(request.headers["last-event-id"] ?? NaN);
      let after = Number.isFinite(lastEventId) ? lastEventId : query.after;
      const resource = query.resource;
      const colon = resource?.indexOf(":") ?? -1;
      const filter =
        resource === undefined
          ? {}
          : colon === -1
            ? { resourceId: resource }
            : { resourceType: resource.slice(0, colon), resourceId: resource.slice(colon + 1) };

      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-request-id": request.id,
      });
      out.write(": connected\n\n");
      let closed = false;
      request.raw.on("close", () => {
        closed = true;
      });
      let lastWrite = Date.now();
      while (!closed) {
        const events = await ctx.repos.events.list({
          ownerId: principal.user.id,
          ...filter,
          afterId: after,
          limit: 500,
        });
        for (const event of events) {
          out.write(`id: ${event.id}\nevent: transition\ndata: ${JSON.stringify(eventView(event))}\n\n`);
          after = event.id;
          lastWrite = Date.now();
        }
        if (Date.now() - lastWrite > HEARTBEAT_MS) {
          out.write(": keep-alive\n\n");
          lastWrite = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      out.end();
    },
  });
}

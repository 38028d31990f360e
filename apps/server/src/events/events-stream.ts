import type { FastifyInstance } from "fastify";
import { type z } from "zod";
import { EventsQuery } from "@dumont/core";
import type { ServerContext } from "../server-context";
import { eventView } from "./event-handlers";
import { authenticateHook } from "../http/register-routes";
import { errorBody, toDumontError } from "../http/error-handler";

const POLL_MS = 500;
const HEARTBEAT_MS = 15_000;
/** How often an idle stream re-checks its token (a stream with events to send checks first, every time). */
const TOKEN_RECHECK_MS = 2_000;

/**
 * Server-sent events of the caller's resource transitions. It reads the event table rather than
 * an in-process bus, so a client connected to one replica sees transitions made by any replica;
 * this replica's own transitions wake it at once, others' are found by its poll.
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
      // Transitions this process commits wake the loop at once; the poll finds other replicas'.
      let wake: (() => void) | undefined;
      let changed = false;
      const unsubscribe = ctx.store.onTransition((change) => {
        if (change.row.owner_id !== principal.user.id) return;
        changed = true;
        wake?.();
      });
      let closed = false;
      request.raw.on("close", () => {
        closed = true;
        wake?.();
      });
      let lastWrite = Date.now();
      let lastTokenCheck = Date.now();
      // A stream outlives the request that opened it: the token it was opened with can be revoked
      // (logout, API key revoked) or expire meanwhile. It is re-checked before anything is sent and
      // every few seconds while idle; once it no longer holds, the stream ends with an error event.
      const tokenStillValid = async (): Promise<boolean> => {
        lastTokenCheck = Date.now();
        try {
          await ctx.auth.authenticate(request.headers.authorization);
          return true;
        } catch (error) {
          const dumontError = toDumontError(error);
          if (dumontError.code !== "UNAUTHENTICATED") throw error;
          out.write(`event: error\ndata: ${JSON.stringify(errorBody(dumontError, request.id))}\n\n`);
          return false;
        }
      };
      try {
        while (!closed) {
          changed = false;
          const events = await ctx.repos.events.list({
            ownerId: principal.user.id,
            ...filter,
            afterId: after,
            limit: 500,
          });
          const recheckDue = Date.now() - lastTokenCheck >= TOKEN_RECHECK_MS;
          if ((events.length > 0 || recheckDue) && !(await tokenStillValid())) break;
          for (const event of events) {
            out.write(`id: ${event.id}\nevent: transition\ndata: ${JSON.stringify(eventView(event))}\n\n`);
            after = event.id;
            lastWrite = Date.now();
          }
          if (Date.now() - lastWrite > HEARTBEAT_MS) {
            out.write(": keep-alive\n\n");
            lastWrite = Date.now();
          }
          if (changed) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        unsubscribe();
      }
      out.end();
    },
  });
}

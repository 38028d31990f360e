import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { MarketContext } from "../market-context";
import { registerAccountRoutes } from "./account-routes";
import { registerBillingRoutes } from "./billing-routes";
import { registerBulkInstanceRoutes } from "./bulk-instance-routes";
import { registerCatalogRoutes } from "./catalog-routes";
import { registerCommandRoutes } from "./command-routes";
import { registerInstanceRoutes } from "./instance-routes";
import { registerOfferRoutes } from "./offer-routes";
import { registerSecretRoutes } from "./secret-routes";
import { registerSimRoutes } from "./sim-routes";
import { VastError } from "./vast-error";

/** Seconds in the 429 text per endpoint (vast-api.md §1.3 examples); others say 1.0. */
const THRESHOLDS: readonly (readonly [string, RegExp, string])[] = [
  ["PUT", /^\/api\/v0\/asks\//, "4.5"],
  ["PUT", /^\/api\/v0\/instances\/bid_price\//, "5.5"],
  ["GET", /^\/api\/v0\/instances\/\d+/, "2.0"],
  ["DELETE", /^\/api\/v0\/instances\//, "3.0"],
  ["POST", /^\/api\/v0\/bundles/, "2.0"],
];

/** The HTTP app: Vast's paths with and without trailing slash, Vast's error shapes, the /sim API. */
export async function buildApp(ctx: MarketContext): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = ctx.logger;
  const app = Fastify({
    loggerInstance: logger,
    // Per-request lines would drown the simulation's own log; routes log what matters.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 4 * 1024 * 1024,
  });

  // Vast clients send JSON with or without a content type, and DELETE often with none at all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new VastError(400, "invalid_request", "Invalid json body"), undefined);
    }
  });

  // Vast answers `application/json` with no parameter, and a strict client (the official CLI
  // checks the search reply's type) rejects fastify's default `application/json; charset=utf-8`.
  // Every JSON reply passes here, errors and 404s included; JSON is UTF-8 by definition (RFC 8259).
  app.addHook("onSend", async (_request, reply, payload) => {
    const type = reply.getHeader("content-type");
    if (typeof type === "string" && /^application\/json\s*;/i.test(type))
      reply.header("content-type", "application/json");
    return payload;
  });

  app.setErrorHandler((error: unknown, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      success: false,
      error: "not_found",
      msg: `Unknown endpoint: ${request.method} ${request.url.split("?")[0] ?? ""}`,
    }),
  );
  app.addHook("onRequest", async (request, reply) => {
    if (!request.url.startsWith("/api/")) return;
    const faults = ctx.apiFaults;
    if (faults.rate429 > 0 && faults.rng.chance(faults.rate429)) {
      // Plain text and no Retry-After, like Vast (vast-api.md §1.3).
      return reply
        .status(429)
        .type("text/plain")
        .send(`API requests too frequent: endpoint threshold=${thresholdOf(request)}`);
    }
    if (faults.rate5xx > 0 && faults.rng.chance(faults.rate5xx)) {
      return reply
        .status(503)
        .type("text/html")
        .send(
          "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
        );
    }
    return;
  });

  registerOfferRoutes(app, ctx);
  registerInstanceRoutes(app, ctx);
  registerAccountRoutes(app, ctx);
  registerBulkInstanceRoutes(app, ctx);
  registerCatalogRoutes(app, ctx);
  registerCommandRoutes(app, ctx);
  registerBillingRoutes(app, ctx);
  registerSecretRoutes(app, ctx);
  registerSimRoutes(app, ctx);
  app.get("/health", () => ({ status: "ok", simulated: true, profile: ctx.profileName, seed: ctx.seed }));
  return app;
}

function thresholdOf(request: FastifyRequest): string {
  const path = request.url.split("?")[0] ?? "";
  for (const [method, pattern, threshold] of THRESHOLDS) {
    if (request.method === method && pattern.test(path)) return threshold;
  }
  return "1.0";
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof VastError) return reply.status(error.status).send(error.body());
  const fastifyError = error as Partial<FastifyError>;
  const status = typeof fastifyError.statusCode === "number" ? fastifyError.statusCode : 500;
  if (status < 500) {
    return reply
      .status(status)
      .send({ success: false, error: "invalid_request", msg: fastifyError.message ?? "Bad request" });
  }
  request.log.error({ err: error, url: request.url }, "marketplace request failed");
  return reply.status(500).send({ success: false, error: "server_error", msg: "Internal server error" });
}

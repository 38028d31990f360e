import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import fastifySwagger from "@fastify/swagger";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import { DumontError } from "@dumont/core";
import type { ServerContext } from "../server-context";
import type { Handlers } from "./handler-types";
import { sendError } from "./error-handler";
import { registerContractRoutes } from "./register-routes";
import { registerEventStream } from "../events/events-stream";
import { authHandlers } from "../auth/auth-handlers";
import { accountHandlers } from "../account/account-handlers";
import { canaryHandlers } from "../canary/canary-handlers";
import { eventHandlers } from "../events/event-handlers";
import { instanceHandlers } from "../instances/instance-handlers";
import { historyHandlers } from "../history/history-handlers";
import { wizardHandlers } from "../wizard/wizard-handlers";
import { jobHandlers } from "../jobs/job-handlers";
import { adminHandlers } from "../admin/admin-handlers";
import { standbyHandlers } from "../standby/standby-handlers";
import { registerJobOutputDownload } from "../jobs/job-output-download";
import { requestLogView } from "./redact-url";

/** Paths and fields pino must never print: tokens, passwords, marketplace keys. */
export const LOG_REDACTIONS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "*.password",
  "*.token",
  "*.key",
  "*.vast_api_key",
  "*.gcp_credentials",
  "*.private_key",
  "*.hf_token",
];

/** Builds the HTTP app over a context. Tests call `app.inject()` on it; `startServer` listens. */
export async function buildApp(ctx: ServerContext): Promise<FastifyInstance> {
  // pino's Logger is wider than fastify's logger type; widening it here keeps the app's type plain.
  // The request serializer redacts credentials in query strings (pino's path redaction cannot
  // reach inside the URL string); fastify keeps a logger instance's own serializers.
  const logger: FastifyBaseLogger = ctx.logger.child({}, { serializers: { req: requestLogView } });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: ctx.config.bodyLimit,
    forceCloseConnections: true,
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    requestIdHeader: false,
    // Bad URL encoding and over-long path parameters are answered before routing; without this
    // they would get Fastify's own body instead of {"error":{code,...}}.
    frameworkErrors: (error, request, reply) => {
      sendError(error, request, reply);
    },
  });
  // The API takes JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser("text/plain");
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("principal", undefined);
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new DumontError({
        code: "ROUTE_NOT_FOUND",
        message: `no route ${request.method} ${request.url.split("?")[0] ?? ""}`,
        hint: "See /api/v1/openapi.json for the API.",
      }),
      request,
      reply,
    ),
  );
  app.addHook("onSend", async (request, reply) => {
    void reply.header("x-request-id", request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Dumont Cloud API",
        version: ctx.version,
        description: "Control plane for renting GPUs on marketplaces. Errors: {error:{code,message,details}}.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  const handlers: Handlers = {
    ...authHandlers(ctx),
    ...accountHandlers(ctx),
    ...canaryHandlers(ctx),
    ...eventHandlers(ctx),
    ...instanceHandlers(ctx),
    ...historyHandlers(ctx),
    ...wizardHandlers(ctx),
    ...jobHandlers(ctx),
    ...adminHandlers(ctx),
    ...standbyHandlers(ctx),
  };
  registerContractRoutes(app, handlers, ctx.auth);
  registerEventStream(app, ctx);
  registerJobOutputDownload(app, ctx);

  app.get("/health", { schema: { hide: true } }, () => ({
    status: "ok",
    version: ctx.version,
    replica: ctx.replicaId,
    database: ctx.database.dialect.name,
    market: ctx.markets.embedded
      ? { mode: "embedded", simulated: true, note: "SIMULATED local marketplace (no real GPUs, no money)" }
      : ctx.config.market === "vast"
        ? { mode: "vast", simulated: false, url: ctx.config.vastUrl }
        : { mode: ctx.config.market, simulated: false },
    uptime_seconds: Math.round(process.uptime()),
  }));
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
  app.get("/api/v1/openapi.json", { schema: { hide: true } }, () => app.swagger());
  return app;
}

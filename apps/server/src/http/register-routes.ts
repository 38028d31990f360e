import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { API_ROUTES, ErrorBody, type RouteDefinition, type RouteName } from "@dumont/core";
import type { Handlers } from "./handler-types";
import type { AuthService, Principal } from "../auth/auth-service";
import { requireOperator } from "../auth/roles";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** `/api/v1/things/{id}` → `/api/v1/things/:id` */
export function toFastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

export function authenticateHook(auth: AuthService, options: { operatorOnly?: boolean | undefined } = {}) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    request.principal = await auth.authenticate(request.headers.authorization);
    if (options.operatorOnly) requireOperator(request.principal);
  };
}

/** Registers every route of the contract with its validation, OpenAPI metadata and handler. */
export function registerContractRoutes(app: FastifyInstance, handlers: Handlers, auth: AuthService): void {
  const authenticate = authenticateHook(auth);
  const authenticateOperator = authenticateHook(auth, { operatorOnly: true });
  for (const name of Object.keys(API_ROUTES) as RouteName[]) {
    const route: RouteDefinition = API_ROUTES[name];
    const handler = handlers[name] as (input: unknown, context: unknown) => Promise<unknown>;
    const options: RouteOptions = {
      method: route.method,
      url: toFastifyPath(route.path),
      schema: {
        operationId: name,
        summary: route.summary,
        tags: [route.tag],
        ...(route.auth ? { security: [{ bearer: [] }] } : { security: [] }),
        // OpenAPI extension: clients and the generated test suites can tell operator-only routes.
        ...(route.operatorOnly ? { "x-dumont-operator-only": true } : {}),
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { querystring: route.query } : {}),
        ...(route.body ? { body: route.body } : {}),
        response: { [route.successStatus]: route.response, "4xx": ErrorBody, "5xx": ErrorBody },
      },
      ...(route.auth ? { preValidation: route.operatorOnly ? authenticateOperator : authenticate } : {}),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const result = await handler(
          { params: request.params, query: request.query, body: request.body },
          { principal: request.principal, request },
        );
        return reply.status(route.successStatus).send(result);
      },
    };
    app.route(options);
  }
}

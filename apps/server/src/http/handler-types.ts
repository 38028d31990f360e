import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import type { ApiRoutes, RouteDefinition, RouteName, RouteParsedInput } from "@dumont/core";
import type { Principal } from "../auth/auth-service";

export type HandlerContext<R extends RouteDefinition> = R["auth"] extends true
  ? { principal: Principal; request: FastifyRequest }
  : { principal: undefined; request: FastifyRequest };

export type RouteHandler<R extends RouteDefinition> = (
  input: RouteParsedInput<R>,
  context: HandlerContext<R>,
) => Promise<z.input<R["response"]>>;

/** One handler per declared route; a route without a handler fails to compile. */
export type Handlers = { [K in RouteName]: RouteHandler<ApiRoutes[K]> };

export type HandlersFor<K extends RouteName> = Pick<Handlers, K>;

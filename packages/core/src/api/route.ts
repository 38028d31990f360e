import type { z } from "zod";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/**
 * One API operation, declared once. The server registers its handler and validation from it,
 * the OpenAPI document is generated from it, and the typed client calls it by name.
 */
export interface RouteDefinition {
  readonly method: HttpMethod;
  /** OpenAPI-style path: `/api/v1/things/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** false for the few public routes (register, login, health). */
  readonly auth: boolean;
  /** Only an operator may call it; a user gets 403 FORBIDDEN (checked after authentication). */
  readonly operatorOnly?: boolean;
  readonly successStatus: 200 | 201;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
}

export function defineRoute<const T extends RouteDefinition>(route: T): T {
  return route;
}

type InputOf<T> = T extends z.ZodType ? z.input<T> : undefined;
type OutputOf<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What a caller sends for a route: only the parts the route declares. */
export type RouteInput<R extends RouteDefinition> = {
  [K in "params" | "query" | "body" as R[K] extends z.ZodType ? K : never]: InputOf<R[K]>;
};

/** What a handler receives after validation (defaults applied, types narrowed). */
export type RouteParsedInput<R extends RouteDefinition> = {
  [K in "params" | "query" | "body" as R[K] extends z.ZodType ? K : never]: OutputOf<R[K]>;
};

export type RouteResponse<R extends RouteDefinition> = z.output<R["response"]>;

/** Fills `{name}` placeholders with encoded values. */
export function buildPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params?.[key];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${key}`);
    return encodeURIComponent(formatScalar(value));
  });
}

/** How a path or query value is written in a URL: scalars as themselves, anything else as JSON. */
export function formatScalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return value.toString();
  return JSON.stringify(value);
}

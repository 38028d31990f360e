import {
  API_ROUTES,
  buildPath,
  formatScalar,
  type ApiRoutes,
  type RouteInput,
  type RouteName,
  type RouteResponse,
} from "@dumont/core";
import { ApiError } from "./api-error";

export interface DumontClientOptions {
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * The typed client the CLI, dashboard and VS Code extension share. Operations are called by their
 * contract name, so a renamed path or field breaks compilation instead of a user's script.
 *
 * @example
 * const client = new DumontClient({ baseUrl: "http://127.0.0.1:8766", token });
 * const me = await client.call("me", {});
 */
export class DumontClient {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: DumontClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async call<K extends RouteName>(name: K, input: RouteInput<ApiRoutes[K]>): Promise<RouteResponse<ApiRoutes[K]>> {
    const route = API_ROUTES[name];
    const parts = input as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
    const url = new URL(buildPath(route.path, parts.params), this.options.baseUrl);
    for (const [key, value] of Object.entries(parts.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, formatScalar(value));
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let body: string | undefined;
    if (parts.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(parts.body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: route.method,
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (cause) {
      throw new ApiError({
        code: "SERVER_UNREACHABLE",
        message: `cannot reach the Dumont server at ${this.options.baseUrl} (${describeCause(cause)})`,
        status: 0,
        hint: "Start it with `dumont server`, or point --api-url / DUMONT_API_URL at a running one.",
      });
    }
    const text = await response.text();
    const payload = parseJson(text);
    if (!response.ok) throw toApiError(response, payload, text);
    return payload as RouteResponse<ApiRoutes[K]>;
  }
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toApiError(response: Response, payload: unknown, text: string): ApiError {
  const error = (payload as { error?: Record<string, unknown> } | undefined)?.error;
  if (error && typeof error.code === "string") {
    return new ApiError({
      code: error.code,
      message: typeof error.message === "string" ? error.message : error.code,
      status: response.status,
      details: (error.details as Record<string, unknown> | undefined) ?? {},
      hint: typeof error.hint === "string" ? error.hint : undefined,
      requestId: typeof error.request_id === "string" ? error.request_id : undefined,
    });
  }
  return new ApiError({
    code: "UNEXPECTED_RESPONSE",
    message: `HTTP ${response.status}: ${text.slice(0, 200)}`,
    status: response.status,
  });
}

function describeCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string } } | undefined)?.cause;
  return inner?.code ?? (cause instanceof Error ? cause.message : String(cause));
}

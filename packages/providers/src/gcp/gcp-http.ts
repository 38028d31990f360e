import { DumontError } from "@dumont/core";
import { GcpErrorBody } from "./gcp-schemas";
import type { GcpTokenSource } from "./gcp-token-source";
import { cleanText, exchange, withRetries, type Attempt, type GcpTransportOptions } from "./gcp-transport";

export interface GcpRequest {
  method: "GET" | "POST" | "DELETE";
  /** Below the Compute base URL, e.g. `/projects/p/zones/z/instances`. */
  path: string;
  query?: Record<string, string | undefined> | undefined;
  body?: unknown;
  /** Longer than the default for `operations/…/wait`, which GCP holds open up to two minutes. */
  timeoutMs?: number | undefined;
  /** Statuses the caller handles itself (404 on get, 409 on insert): returned, not thrown. */
  expect?: readonly number[] | undefined;
}

/** A successful (2xx) reply, or one of the statuses the caller said it expects, with GCP's error. */
export interface GcpReply {
  status: number;
  json: unknown;
  /** First error reason (`alreadyExists`, `notFound`, …) of an error reply. */
  reason: string | undefined;
  message: string;
}

/**
 * Transport to the Compute Engine REST API (or the local emulation of it): a bearer token from
 * the service account, one refresh when a token is refused, backoff on 429/5xx/network errors,
 * and the one place where GCP's error replies become Dumont error codes.
 */
export class GcpHttp {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: GcpTokenSource,
    private readonly transport: GcpTransportOptions,
  ) {}

  async request(request: GcpRequest): Promise<GcpReply> {
    let refreshed = false;
    return withRetries(this.transport, async () => {
      for (;;) {
        const token = await this.tokens.accessToken();
        const outcome = await this.once(request, token);
        if (outcome.kind !== "unauthenticated") return outcome;
        // A token can be refused before it expires (revoked, or the emulation restarted): ask
        // for a new one once; refused again means the account itself is not accepted.
        if (refreshed) throw authFailed(request, outcome.message);
        refreshed = true;
        this.tokens.invalidate(token);
      }
    });
  }

  private async once(
    request: GcpRequest,
    token: string,
  ): Promise<Attempt<GcpReply> | { kind: "unauthenticated"; message: string }> {
    const url = new URL(this.baseUrl.replace(/\/+$/, "") + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const what = `${request.method} ${request.path}`;
    const headers: Record<string, string> = { accept: "application/json", authorization: `Bearer ${token}` };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    const result = await exchange(this.transport, {
      url: url.toString(),
      init: {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      },
      timeoutMs: request.timeoutMs,
    });
    if ("networkError" in result) {
      return {
        kind: "retry",
        error: new DumontError({
          code: "PROVIDER_ERROR",
          message: `cannot reach the standby cloud at ${url.origin} (${what})`,
          cause: result.networkError,
        }),
      };
    }
    const { status } = result;
    const parsedError = status >= 400 ? GcpErrorBody.safeParse(result.json) : undefined;
    const gcpError = parsedError?.success ? parsedError.data.error : undefined;
    const reason = gcpError?.errors?.[0]?.reason;
    const message =
      cleanText(gcpError?.message ?? gcpError?.errors?.[0]?.message ?? result.excerpt) || `status ${status}`;
    const details = { provider_status: status, provider_reason: reason ?? null };

    if (status >= 200 && status < 300) {
      return { kind: "done", value: { status, json: result.json, reason: undefined, message: "" } };
    }
    if (status === 401) return { kind: "unauthenticated", message };
    const rateLimited = status === 429 || reason === "rateLimitExceeded" || reason === "userRateLimitExceeded";
    if (rateLimited) {
      return {
        kind: "retry",
        retryAfterMs: result.retryAfterMs,
        error: new DumontError({
          code: "PROVIDER_RATE_LIMITED",
          message: `the standby cloud is rate-limiting ${what}: ${message}`,
          details,
        }),
      };
    }
    // resourceNotReady: another operation on the instance is still running; it clears by itself.
    if (status >= 500 || reason === "resourceNotReady") {
      return {
        kind: "retry",
        retryAfterMs: result.retryAfterMs,
        error: new DumontError({
          code: "PROVIDER_ERROR",
          message: `the standby cloud failed (${status}) on ${what}: ${message}`,
          details,
        }),
      };
    }
    if (request.expect?.includes(status))
      return { kind: "done", value: { status, json: result.json, reason, message } };
    throw mapGcpError({ status, reason, message, what });
  }
}

function authFailed(request: GcpRequest, message: string): DumontError {
  return new DumontError({
    code: "PROVIDER_AUTH_FAILED",
    message: `the standby cloud refused our credentials on ${request.method} ${request.path}: ${message}`,
    details: { provider_status: 401 },
    hint: "Check the service account key in GCP_CREDENTIALS.",
  });
}

/** GCP's 4xx errors as Dumont codes. */
export function mapGcpError(options: {
  status: number;
  reason: string | undefined;
  message: string;
  what: string;
}): DumontError {
  const { status, reason, message, what } = options;
  const details = { provider_status: status, provider_reason: reason ?? null };
  if (reason === "quotaExceeded") {
    return new DumontError({
      code: "PROVIDER_ERROR",
      message: `the standby cloud's quota is exhausted (${what}): ${message}`,
      details,
      hint: "Raise the project's Compute Engine quota, or use a smaller machine type or another zone.",
    });
  }
  if (status === 403) {
    return new DumontError({
      code: "PROVIDER_AUTH_FAILED",
      message: `the standby cloud's service account may not do this (${what}): ${message}`,
      details,
      hint: "Grant the service account roles/compute.instanceAdmin.v1 on the project in GCP_CREDENTIALS.",
    });
  }
  if (status === 404) {
    return new DumontError({ code: "NOT_FOUND", message: `the standby cloud does not know it: ${message}`, details });
  }
  if (status === 400 || status === 413 || status === 422) {
    return new DumontError({
      code: "VALIDATION_FAILED",
      message: `the standby cloud rejected the request (${what}): ${message}`,
      details,
    });
  }
  return new DumontError({
    code: "PROVIDER_ERROR",
    message: `standby cloud error ${status} on ${what}: ${message}`,
    details,
  });
}

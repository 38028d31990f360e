import { setTimeout as sleep } from "node:timers/promises";
import { DumontError, formatScalar } from "@dumont/core";

export interface VastHttpOptions {
  baseUrl: string;
  apiKey: string | undefined;
  /** Attempts for 429/5xx/network failures on idempotent calls (creates are never retried). */
  maxAttempts?: number;
  /** First backoff; doubles with jitter. Vast sends no Retry-After, so we choose. */
  backoffMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface VastRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: Record<string, string> | undefined;
  body?: unknown;
  /** Safe to repeat after a timeout or 5xx (false for creates: a create may succeed unseen). */
  idempotent: boolean;
  /** Vast answers these codes for "already gone"; they come back as `{ gone: true }`. */
  goneErrors?: readonly string[] | undefined;
}

export type VastResponse = { gone: false; status: number; body: Record<string, unknown> } | { gone: true };

/**
 * Transport to Vast's REST API (or anything that speaks it): bearer auth, backoff on 429 and
 * 5xx, and the one place where Vast's error shapes become Dumont error codes.
 */
export class VastHttp {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: VastHttpOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async request(request: VastRequest): Promise<VastResponse> {
    const attempts = request.idempotent ? (this.options.maxAttempts ?? 5) : 1;
    let delay = this.options.backoffMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.once(request);
      if (outcome.kind === "done") return outcome.response;
      if (attempt >= attempts) throw outcome.error;
      await sleep(delay * (0.75 + Math.random() / 2));
      delay = Math.min(delay * 2, 15_000);
    }
  }

  private async once(
    request: VastRequest,
  ): Promise<{ kind: "done"; response: VastResponse } | { kind: "retry"; error: DumontError }> {
    const url = new URL(request.path, this.options.baseUrl);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (request.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (cause) {
      return {
        kind: "retry",
        error: new DumontError({
          code: "MARKET_UNAVAILABLE",
          message: `cannot reach the marketplace at ${url.origin}`,
          cause,
        }),
      };
    }
    const text = await response.text();
    const body = parseBody(text);
    const errorCode = typeof body.error === "string" ? body.error : undefined;
    const message = formatScalar(
      body.msg ?? body.message ?? body.detail ?? (text.slice(0, 200) || response.statusText),
    );

    if (response.status === 429) {
      return {
        kind: "retry",
        error: new DumontError({
          code: "PROVIDER_RATE_LIMITED",
          message: `the marketplace is rate-limiting ${request.method} ${request.path}: ${message}`,
        }),
      };
    }
    if (response.status >= 500) {
      return {
        kind: "retry",
        error: new DumontError({
          code: "PROVIDER_ERROR",
          message: `the marketplace failed (${response.status}) on ${request.method} ${request.path}`,
          details: { provider_status: response.status },
        }),
      };
    }
    if (errorCode && request.goneErrors?.includes(errorCode)) return { kind: "done", response: { gone: true } };
    if (response.status === 401 || response.status === 403 || errorCode === "auth_error") {
      throw new DumontError({
        code: "PROVIDER_AUTH_FAILED",
        message: `the marketplace refused the API key: ${message}`,
        hint: "Check the key with `dumont settings set-vast-key`, or the server's VAST_API_KEY.",
      });
    }
    if (!response.ok) {
      throw mapVastError({ status: response.status, errorCode, message, body });
    }
    return { kind: "done", response: { gone: false, status: response.status, body } };
  }
}

function parseBody(text: string): Record<string, unknown> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : { value: parsed };
  } catch {
    return { msg: text.slice(0, 500) };
  }
}

/** Vast's 4xx errors as Dumont codes (the full table is in shared/reference/vast-api.md §1.4). */
export function mapVastError(options: {
  status: number;
  errorCode: string | undefined;
  message: string;
  body: Record<string, unknown>;
}): DumontError {
  const { status, errorCode, message } = options;
  const details = { provider_status: status, provider_error: errorCode ?? null };
  if (errorCode === "no_such_ask" || status === 410) {
    return new DumontError({ code: "OFFER_UNAVAILABLE", message: `offer unavailable: ${message}`, details });
  }
  if (errorCode === "insufficient_credit" || status === 402 || status === 411) {
    return new DumontError({
      code: "INSUFFICIENT_CREDIT",
      message: `not enough marketplace credit: ${message}`,
      details,
      hint: "Add credit to the marketplace account.",
    });
  }
  if (errorCode === "no_such_instance" || status === 404) {
    return new DumontError({ code: "NOT_FOUND", message: `the marketplace does not know it: ${message}`, details });
  }
  if (status === 400 || errorCode === "invalid_args" || errorCode === "invalid_price") {
    return new DumontError({
      code: "VALIDATION_FAILED",
      message: `the marketplace rejected the request: ${message}`,
      details,
    });
  }
  return new DumontError({ code: "PROVIDER_ERROR", message: `marketplace error ${status}: ${message}`, details });
}

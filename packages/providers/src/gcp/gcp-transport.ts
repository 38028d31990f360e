import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import { DumontError } from "@dumont/core";

/** Knobs shared by the token and Compute clients: bounded retries and reads. */
export interface GcpTransportOptions {
  fetch: typeof fetch;
  /** Attempts for 429/5xx/network failures (every call we make is safe to repeat). */
  maxAttempts?: number;
  /** First backoff; doubles with jitter up to 15 s (a Retry-After header, when sent, wins). */
  backoffMs?: number;
  /** Per request, reading the reply included. */
  timeoutMs?: number;
}

/** One attempt's outcome: a value, or an error worth another attempt after a pause. */
export type Attempt<T> = { kind: "done"; value: T } | { kind: "retry"; error: DumontError; retryAfterMs?: number };

/** Runs `attempt` until it is done, throws, or `maxAttempts` have failed; the last error is thrown. */
export async function withRetries<T>(options: GcpTransportOptions, attempt: () => Promise<Attempt<T>>): Promise<T> {
  const attempts = Math.max(1, options.maxAttempts ?? 5);
  let delay = options.backoffMs ?? 500;
  for (let count = 1; ; count++) {
    const outcome = await attempt();
    if (outcome.kind === "done") return outcome.value;
    if (count >= attempts) throw outcome.error;
    const jittered = delay * (0.75 + Math.random() / 2);
    await sleep(Math.min(Math.max(jittered, outcome.retryAfterMs ?? 0), 30_000));
    delay = Math.min(delay * 2, 15_000);
  }
}

// Compute replies are small (an aggregated page of 500 instances is well under this); a reply that
// is larger is broken or hostile, and is not buffered whole.
const MAX_REPLY_BYTES = 8 * 1024 * 1024;

export interface GcpExchange {
  status: number;
  /** From Retry-After (seconds there); undefined when absent or unreadable. */
  retryAfterMs: number | undefined;
  /** The reply as JSON; undefined when it was empty or not JSON. */
  json: unknown;
  /** The start of the reply's text, cleaned, for messages when it is not JSON. */
  excerpt: string;
}

/**
 * One HTTP exchange: a timeout over the whole call and a cap on the reply's size. Network
 * failures come back as `undefined` (the caller decides whether to retry); a reply that is too
 * large throws.
 */
export async function exchange(
  options: GcpTransportOptions,
  request: { url: string; init: RequestInit; timeoutMs?: number | undefined },
): Promise<GcpExchange | { networkError: unknown }> {
  const signal = AbortSignal.timeout(request.timeoutMs ?? options.timeoutMs ?? 60_000);
  let response: Response;
  let text: string;
  try {
    response = await options.fetch(request.url, { ...request.init, signal });
    text = await readBounded(response, request.url);
  } catch (error) {
    if (error instanceof DumontError) throw error;
    return { networkError: error };
  }
  return {
    status: response.status,
    retryAfterMs: retryAfterMs(response.headers.get("retry-after")),
    json: parseJson(text),
    excerpt: cleanText(text.slice(0, 300)),
  };
}

async function readBounded(response: Response, url: string): Promise<string> {
  if (!response.body) return "";
  // Node's fetch types its body stream loosely; it yields bytes.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_REPLY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new DumontError({
        code: "PROVIDER_ERROR",
        message: `the standby cloud's reply from ${new URL(url).origin} is over ${MAX_REPLY_BYTES} bytes; not reading it`,
      });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Text from the far side, safe to put in a message: no control characters, bounded length. */
export function cleanText(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Validates a reply's shape; a mismatch is the cloud's fault, said as PROVIDER_ERROR (never a crash). */
export function parseReply<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join(".") || "reply"}: ${issue.message}`)
    .join("; ");
  throw new DumontError({
    code: "PROVIDER_ERROR",
    message: `the standby cloud's reply to ${what} has an unexpected shape (${cleanText(issues)})`,
  });
}

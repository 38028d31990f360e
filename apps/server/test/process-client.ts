import { setTimeout as sleep } from "node:timers/promises";

/** Minimal JSON-over-HTTP helper for tests that talk to a real server process. */
export async function api<T>(
  url: string,
  options: { method?: string; token?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: options.method ?? "GET",
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface CanaryView {
  id: string;
  status: string;
  steps_done: number;
  steps_total: number;
  error: string | null;
}

export interface EventView {
  resource_id: string;
  from_status: string | null;
  to_status: string;
  actor: string;
}

/**
 * Environment for a server process driving a marketplace that runs outside it (as Vast.ai does),
 * with fast leases and polls so crash tests take seconds.
 */
export function externalMarketEnv(
  market: { url: string; apiKey: string },
  home: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    DUMONT_HOME: home,
    DUMONT_MARKET: "vast",
    DUMONT_VAST_URL: market.url,
    VAST_API_KEY: market.apiKey,
    DUMONT_LEASE_MS: "1000",
    DUMONT_POLL_MS: "100",
    DUMONT_COLLECT_INTERVAL_S: "1",
    ...overrides,
  };
}

/** Registers a user on a server process and returns its session token. */
export async function registerOn(url: string, email: string): Promise<string> {
  const { body } = await api<{ token: string }>(`${url}/api/v1/auth/register`, {
    method: "POST",
    body: { email, password: "correct horse battery" },
  });
  return body.token;
}

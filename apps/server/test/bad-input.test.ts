import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { ERROR_CODES, type ErrorCode } from "@dumont/core";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  testDialects,
  type Account,
  type InProcessServer,
} from "@dumont/testing";
import { expectClientError, expectError, JSON_HEADERS, type InjectedResponse } from "./helpers";
import {
  badInputCases,
  fillPath,
  fuzzCases,
  listen,
  loadOperations,
  samplePathParams,
  send,
  unauthenticatedCases,
  type ApiOperation,
  type HttpCase,
  type Listening,
  type Method,
} from "./openapi-cases";

/**
 * Bad input, generated from the OpenAPI document: every operation gets hostile path parameters,
 * query parameters and bodies derived from its schemas (see openapi-cases.ts), plus the auth and
 * role checks. A new route is covered the day it is added; the hand-written tests at the end
 * keep the cases a schema cannot express.
 */
const dialects = await testDialects();
const operations = await loadOperations();

/**
 * Base bodies for operations whose schema sample would stop in the handler before any field is
 * looked at (so each hostile field reaches further). Every other operation uses its schema sample.
 */
const BASE_BODIES: Partial<Record<string, Record<string, unknown>>> = {
  login: { email: "nobody@example.com", password: "wrong password" },
  addSshKey: {
    name: "laptop",
    public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop",
  },
};

const FUZZ_SEED = 0x5eed_d0;
const ERROR_CODE_NAMES = new Set(Object.keys(ERROR_CODES));

/** Why an answer breaks the case's expectation, or undefined when it is right. */
function problemWith(c: HttpCase, response: InjectedResponse): string | undefined {
  const seen = `${c.label} → ${response.statusCode} ${response.body.slice(0, 240)}`;
  if (response.statusCode >= 500) return `5xx: ${seen}`;
  if (c.expect.kind === "reject" && response.statusCode < 400) return `expected a 4xx: ${seen}`;
  if (response.statusCode < 400) return undefined;
  let error: { code?: unknown; message?: unknown; request_id?: unknown; details?: { issues?: unknown } } | undefined;
  try {
    error = (JSON.parse(response.body) as { error?: typeof error }).error;
  } catch {
    return `error body is not JSON: ${seen}`;
  }
  if (!error || typeof error.code !== "string" || typeof error.message !== "string")
    return `no error envelope: ${seen}`;
  if (!ERROR_CODE_NAMES.has(error.code)) return `code outside the closed list: ${seen}`;
  if (ERROR_CODES[error.code as ErrorCode].status !== response.statusCode) return `status does not match code: ${seen}`;
  if (typeof error.request_id !== "string" || !error.request_id.startsWith("req_")) return `no request_id: ${seen}`;
  if (c.expect.kind !== "reject") return undefined;
  if (c.expect.code && error.code !== c.expect.code) return `expected ${c.expect.code}: ${seen}`;
  const issue = c.expect.issue;
  if (issue) {
    if (error.code !== "VALIDATION_FAILED") return `expected VALIDATION_FAILED naming ${issue.path}: ${seen}`;
    const issues = Array.isArray(error.details?.issues) ? (error.details.issues as Array<{ path?: string }>) : [];
    const named = issues.some((i) => i.path === issue.path || i.path?.startsWith(`${issue.path}.`));
    if (!named) return `no issue names ${issue.path}: ${seen}`;
    if (issue.mentions && !JSON.stringify(issues).includes(issue.mentions))
      return `issues do not mention ${issue.mentions}: ${seen}`;
    if (issues.length >= 10 && issue.path === "body")
      return `one issue per element instead of one for the body: ${seen}`;
  }
  return undefined;
}

describe.each(dialects)("bad input, generated from the OpenAPI document (%s)", (dialect) => {
  let inproc: InProcessServer;
  let target: Listening;
  let operator: Account;
  let user: Account;
  let probe: Account;

  beforeAll(async () => {
    // Controllers off: creates only insert rows, so hostile bodies that pass validation rent
    // nothing. Generous throttles so hostile logins reach the handlers.
    inproc = await startInProcessServer({
      dialect,
      startControllers: false,
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_REGISTRATION: "open",
        DUMONT_IP_MAX_ATTEMPTS: "100000",
        DUMONT_LOGIN_MAX_FAILURES: "100000",
      },
    });
    target = await listen(inproc.app);
    // The first account is the operator; the others are users.
    operator = await registerAccount(inproc.app, "operator");
    user = await registerAccount(inproc.app, "user");
    probe = await registerAccount(inproc.app, "probe");
  });
  afterAll(async () => {
    await inproc?.close();
  });

  const sendAs = (
    account: Account | undefined,
    c: { method: Method; url: string; headers?: Record<string, string>; payload?: string | undefined },
  ) => send(target, { ...c, headers: { ...(account ? bearer(account.token) : {}), ...c.headers } });

  /**
   * The token an operation's cases are sent with: an API key of its own (a logout revokes only
   * that one), of the operator for operator-only routes, of the user for the others.
   */
  async function tokenFor(op: ApiOperation): Promise<string | undefined> {
    if (!op.auth) return undefined;
    const owner = op.operatorOnly ? operator : user;
    const created = await sendAs(owner, {
      method: "POST",
      url: "/api/v1/auth/api-keys",
      headers: JSON_HEADERS,
      payload: JSON.stringify({ name: op.id }),
    });
    expect(created.statusCode, created.body).toBe(201);
    return created.json<{ key: string }>().key;
  }

  /** Hostile settings that pass validation are stored; a stored Vast key would send later market calls to Vast. */
  async function resetSettings(): Promise<void> {
    for (const owner of [user, operator]) {
      const reset = await sendAs(owner, {
        method: "PUT",
        url: "/api/v1/settings",
        headers: JSON_HEADERS,
        payload: JSON.stringify({ vast_api_key: null, settings: {} }),
      });
      expect(reset.statusCode, reset.body).toBe(200);
    }
  }

  async function expectStillAnswering(): Promise<void> {
    expect((await send(target, { method: "GET", url: "/health" })).statusCode).toBe(200);
    const me = await sendAs(probe, { method: "GET", url: "/api/v1/auth/me" });
    expect(me.statusCode, me.body).toBe(200);
  }

  async function runCases(cases: HttpCase[], token: string | undefined): Promise<string[]> {
    const problems: string[] = [];
    for (const c of cases) {
      try {
        const problem = problemWith(
          c,
          await send(target, { ...c, headers: { ...(token ? bearer(token) : {}), ...c.headers } }),
        );
        if (problem) problems.push(problem);
      } catch (error) {
        problems.push(`${c.label}: ${(error as Error).message}`);
      }
    }
    return problems;
  }

  it.each(operations.map((op) => [`${op.id} (${op.method} ${op.path})`, op] as const))(
    "%s: hostile parameters and bodies are answered 4xx (or 2xx where the schema allows them), never 5xx",
    async (_name, op) => {
      const cases = [...badInputCases(op, { baseBody: BASE_BODIES[op.id] }), ...fuzzCases(op, FUZZ_SEED, 20)];
      expect(cases.length, `${op.id} has no generated cases`).toBeGreaterThan(20);
      const problems = await runCases(cases, await tokenFor(op));
      expect(
        problems,
        `${problems.length} of ${cases.length} cases failed:\n${problems.slice(0, 25).join("\n")}`,
      ).toEqual([]);
      // Prototype-pollution keys were refused or stored as plain data, never applied.
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await expectStillAnswering();
      await resetSettings();
    },
  );

  const authenticated = operations.filter((op) => op.auth);
  it.each(authenticated.map((op) => [op.id, op] as const))(
    "%s without a valid token → 401 UNAUTHENTICATED",
    async (_id, op) => {
      const problems = await runCases(unauthenticatedCases(op), undefined);
      expect(problems, problems.join("\n")).toEqual([]);
    },
  );

  it("only the few public routes need no token", () => {
    expect(operations.filter((op) => !op.auth).map((op) => op.id)).toEqual(
      expect.arrayContaining(["register", "login"]),
    );
    expect(operations.filter((op) => !op.auth).length).toBeLessThanOrEqual(3);
  });

  describe("operator-only operations", () => {
    const operatorOnly = operations.filter((op) => op.operatorOnly);

    it("every operation under /api/v1/admin is marked x-dumont-operator-only", () => {
      const unmarked = operations.filter((op) => op.path.startsWith("/api/v1/admin/") && !op.operatorOnly);
      expect(
        unmarked.map((op) => op.id),
        "mark these routes operatorOnly: true in packages/core/src/api",
      ).toEqual([]);
    });

    it.runIf(operatorOnly.length > 0).each(operatorOnly.map((op) => [op.id, op] as const))(
      "%s → 403 FORBIDDEN to a user, and the operator gets past the role check",
      async (_id, op) => {
        const request = {
          method: op.method,
          url: fillPath(op.path, samplePathParams(op)),
          headers: op.body ? { ...JSON_HEADERS } : {},
          payload: op.body ? "{}" : undefined,
        };
        const forbidden = await sendAs(user, request);
        expectError(forbidden, 403, "FORBIDDEN");
        expect(forbidden.body).not.toContain(operator.email);
        const asOperator = await sendAs(operator, request);
        expect(asOperator.statusCode, asOperator.body).not.toBe(403);
        expect(asOperator.statusCode).toBeLessThan(500);
      },
    );
  });

  describe("routing and transport", () => {
    it.each([
      ["GET", "/api/v1/nope"],
      ["GET", "/api/v2/canaries"],
      ["POST", "/api/v1/canaries/can_x/explode"],
      ["GET", "/"],
      ["GET", "/api/v1/auth/api-keys/x/y"],
    ] as const)("%s %s → 404 ROUTE_NOT_FOUND with a hint", async (method, url) => {
      const error = expectError(await send(target, { method, url }), 404, "ROUTE_NOT_FOUND");
      expect(error.hint).toContain("openapi.json");
    });

    it("a documented path with a method it does not declare → 404 in the standard error shape", async () => {
      const byPath = new Map<string, Set<Method>>();
      for (const op of operations) byPath.set(op.path, (byPath.get(op.path) ?? new Set()).add(op.method));
      for (const [path, methods] of byPath) {
        const op = operations.find((o) => o.path === path);
        if (!op) continue;
        const url = fillPath(path, samplePathParams(op));
        for (const method of (["GET", "POST", "PUT", "DELETE", "PATCH"] as const).filter((m) => !methods.has(m))) {
          const error = expectClientError(await sendAs(user, { method, url }), `${method} ${url}`);
          // Another template may match (DELETE /instances/offers is DELETE /instances/{id}).
          expect(["ROUTE_NOT_FOUND", "NOT_FOUND"], `${method} ${url}`).toContain(error.code);
        }
      }
    });

    it("application/json with a charset parameter is still accepted", async () => {
      const withCharset = await sendAs(user, {
        method: "POST",
        url: "/api/v1/canaries",
        headers: { "content-type": "application/json; charset=utf-8" },
        payload: JSON.stringify({ steps: 1, step_ms: 0 }),
      });
      expect(withCharset.statusCode).toBe(201);
    });

    it("a body over DUMONT_BODY_LIMIT → 413 PAYLOAD_TOO_LARGE on every operation with a body", async () => {
      const small = await startInProcessServer({
        dialect,
        startControllers: false,
        env: { DUMONT_BODY_LIMIT: "1024", DUMONT_MARKET: "off", DUMONT_REGISTRATION: "open" },
      });
      try {
        const big = JSON.stringify({ email: `${"a".repeat(5 * 1024)}@example.com`, password: "long enough pw" });
        for (const op of operations.filter((o) => o.body)) {
          const response = await small.app.inject({
            method: op.method,
            url: fillPath(op.path, samplePathParams(op)),
            headers: JSON_HEADERS,
            payload: big,
          });
          const error = expectError(response, 413, "PAYLOAD_TOO_LARGE");
          expect(response.body).not.toContain("aaaaaaaa");
          expect(error.message).toMatch(/too large/);
        }
        // Even a text/plain or non-JSON oversize body is a 4xx.
        const plain = await small.app.inject({
          method: "POST",
          url: "/api/v1/auth/login",
          headers: { "content-type": "text/plain" },
          payload: "x".repeat(5 * 1024),
        });
        expectClientError(plain, "oversize text/plain");
        const fits = await registerAccount(small.app, "small");
        expect(fits.token).toMatch(/^dmt_/);
      } finally {
        await small.close();
      }
    });
  });

  // What a schema cannot say: limits enforced in code, and what is stored afterwards.
  describe("behaviour beyond the schema", () => {
    const sendJson = (method: Method, url: string, body: unknown) =>
      sendAs(user, { method, url, headers: JSON_HEADERS, payload: JSON.stringify(body) });

    it("an unknown settings key is named in the issues and nothing is stored", async () => {
      const response = await sendJson("PUT", "/api/v1/settings", { settings: {}, sneaky: true });
      const error = expectError(response, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(error.details.issues)).toContain("sneaky");
      expect((await sendAs(user, { method: "GET", url: "/api/v1/settings" })).body).not.toContain("sneaky");
    });

    it("settings nesting up to the limit is stored; one level more is refused", async () => {
      const nest = (levels: number) => {
        let value: unknown = "leaf";
        for (let i = 0; i < levels; i += 1) value = { n: value };
        return value as Record<string, unknown>;
      };
      // The preferences object itself is the first of the 32 levels allowed.
      const ok = await sendJson("PUT", "/api/v1/settings", { settings: nest(32) });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('"leaf"');
      expectError(await sendJson("PUT", "/api/v1/settings", { settings: nest(33) }), 400, "VALIDATION_FAILED");
      const stored = await sendAs(user, { method: "GET", url: "/api/v1/settings" });
      expect(stored.json()).toEqual({
        vast_api_key: { configured: false, hint: null },
        gcp_credentials: { configured: false, hint: null },
        settings: nest(32),
      });
    });

    it("a huge array is stored whole in free-form settings", async () => {
      const huge = Array.from({ length: 100_000 }, (_, i) => i);
      const stored = await sendJson("PUT", "/api/v1/settings", { settings: { big: huge } });
      expect(stored.statusCode).toBe(200);
      expect(stored.json<{ settings: { big: number[] } }>().settings.big).toHaveLength(100_000);
      expect((await sendJson("PUT", "/api/v1/settings", { settings: {} })).statusCode).toBe(200);
    });

    it("NUL in stored text is either stored (SQLite) or refused with 400 BAD_REQUEST (PostgreSQL)", async () => {
      const NUL = "\u0000";
      const cases: Array<[Method, string, unknown]> = [
        ["POST", "/api/v1/auth/api-keys", { name: `a${NUL}b` }],
        ["PUT", "/api/v1/settings", { vast_api_key: `abcdefgh${NUL}` }],
        ["PUT", "/api/v1/settings", { settings: { [`k${NUL}`]: `v${NUL}` } }],
      ];
      for (const [method, url, body] of cases) {
        const response = await sendJson(method, url, body);
        if (response.statusCode < 300) continue;
        expectError(response, 400, "BAD_REQUEST");
      }
      // Leave no Vast key behind (it would send this user's market calls to Vast).
      expect((await sendJson("PUT", "/api/v1/settings", { vast_api_key: null })).statusCode).toBe(200);
    });
  });
});

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  testDialects,
  type Account,
  type InProcessServer,
} from "@dumont/testing";
import { expectClientError, expectError, JSON_HEADERS, type InjectedResponse } from "./helpers";

const dialects = await testDialects();

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** The routes that take a JSON body, with whether they need a token. */
const BODY_ROUTES = [
  { name: "register", method: "POST", url: "/api/v1/auth/register", auth: false },
  { name: "login", method: "POST", url: "/api/v1/auth/login", auth: false },
  { name: "createApiKey", method: "POST", url: "/api/v1/auth/api-keys", auth: true },
  { name: "createCanary", method: "POST", url: "/api/v1/canaries", auth: true },
  { name: "updateSettings", method: "PUT", url: "/api/v1/settings", auth: true },
] as const;

/** Deterministic PRNG (mulberry32), so a fuzz failure reproduces from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(dialects)("bad input never causes a 5xx (%s)", (dialect) => {
  let inproc: InProcessServer;
  let account: Account;

  beforeAll(async () => {
    // Generous login limits so the fuzzing reaches the handlers instead of the throttle.
    inproc = await startInProcessServer({
      dialect,
      startControllers: false,
      env: { DUMONT_IP_MAX_ATTEMPTS: "100000", DUMONT_LOGIN_MAX_FAILURES: "100000" },
    });
    account = await registerAccount(inproc.app, "badinput");
  });
  afterAll(async () => {
    await inproc?.close();
  });

  function send(options: {
    method: Method;
    url: string;
    auth?: boolean;
    headers?: Record<string, string>;
    payload?: string | Buffer;
  }): Promise<InjectedResponse> {
    return inproc.app.inject({
      method: options.method,
      url: options.url,
      headers: { ...(options.auth === false ? {} : bearer(account.token)), ...options.headers },
      ...(options.payload === undefined ? {} : { payload: options.payload }),
    });
  }

  const sendJson = (method: Method, url: string, body: unknown, auth = true) =>
    send({ method, url, auth, headers: JSON_HEADERS, payload: JSON.stringify(body) });

  describe("malformed JSON", () => {
    it.each([
      ["unterminated object", "{bad"],
      ["trailing comma", '{"email":"a@example.com",}'],
      ["single quotes", "{'steps': 1}"],
      ["truncated", '{"steps": 1'],
      ["bare word", "undefined"],
      ["two documents", '{"steps":1}{"steps":2}'],
      ["NaN literal", '{"steps": NaN}'],
      ["empty body with a JSON content-type", ""],
      ["only whitespace", "   \n  "],
    ])("%s → 400 MALFORMED_JSON on every JSON route", async (_label, payload) => {
      for (const route of BODY_ROUTES) {
        const response = await send({
          method: route.method,
          url: route.url,
          auth: route.auth,
          headers: JSON_HEADERS,
          payload,
        });
        const error = expectError(response, 400, "MALFORMED_JSON");
        expect(error.message).toMatch(/JSON/);
      }
    });

    it("prototype-poisoning keys are refused with a 4xx, never applied", async () => {
      for (const payload of [
        '{"__proto__":{"isAdmin":true},"steps":1}',
        '{"constructor":{"prototype":{"x":1}},"steps":1}',
      ]) {
        const response = await send({ method: "POST", url: "/api/v1/canaries", headers: JSON_HEADERS, payload });
        expectClientError(response, payload);
      }
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });
  });

  describe("validation", () => {
    it.each([
      {
        label: "register without a body field",
        method: "POST",
        url: "/api/v1/auth/register",
        body: {},
        auth: false,
        paths: ["body.email", "body.password"],
      },
      {
        label: "register without password",
        method: "POST",
        url: "/api/v1/auth/register",
        body: { email: "x@example.com" },
        auth: false,
        paths: ["body.password"],
      },
      {
        label: "login without password",
        method: "POST",
        url: "/api/v1/auth/login",
        body: { email: "x@example.com" },
        auth: false,
        paths: ["body.password"],
      },
      {
        label: "login without email",
        method: "POST",
        url: "/api/v1/auth/login",
        body: { password: "whatever" },
        auth: false,
        paths: ["body.email"],
      },
      {
        label: "createApiKey without name",
        method: "POST",
        url: "/api/v1/auth/api-keys",
        body: {},
        auth: true,
        paths: ["body.name"],
      },
    ] as const)(
      "$label → 400 VALIDATION_FAILED listing the missing fields",
      async ({ method, url, body, auth, paths }) => {
        const response = await sendJson(method, url, body, auth);
        const error = expectError(response, 400, "VALIDATION_FAILED");
        const issues = error.details.issues as Array<{ path: string; message: string }>;
        expect(Array.isArray(issues)).toBe(true);
        expect(issues.length).toBeGreaterThanOrEqual(paths.length);
        for (const issue of issues) {
          expect(typeof issue.path).toBe("string");
          expect(typeof issue.message).toBe("string");
        }
        for (const path of paths) expect(issues.map((i) => i.path)).toContain(path);
      },
    );

    it.each([
      {
        label: "password as a number",
        method: "POST",
        url: "/api/v1/auth/register",
        body: { email: "n@example.com", password: 12345678 },
        auth: false,
      },
      {
        label: "password too short",
        method: "POST",
        url: "/api/v1/auth/register",
        body: { email: "n@example.com", password: "short" },
        auth: false,
      },
      {
        label: "password too long",
        method: "POST",
        url: "/api/v1/auth/register",
        body: { email: "n@example.com", password: "p".repeat(257) },
        auth: false,
      },
      {
        label: "email not an email",
        method: "POST",
        url: "/api/v1/auth/register",
        body: { email: "not-an-email", password: "long enough pw" },
        auth: false,
      },
      {
        label: "email as an object",
        method: "POST",
        url: "/api/v1/auth/register",
        body: { email: { $ne: null }, password: "long enough pw" },
        auth: false,
      },
      {
        label: "login password as a number",
        method: "POST",
        url: "/api/v1/auth/login",
        body: { email: "n@example.com", password: 1 },
        auth: false,
      },
      {
        label: "login password empty",
        method: "POST",
        url: "/api/v1/auth/login",
        body: { email: "n@example.com", password: "" },
        auth: false,
      },
      {
        label: "login username not an email",
        method: "POST",
        url: "/api/v1/auth/login",
        body: { username: "root", password: "x" },
        auth: false,
      },
      { label: "steps as a string", method: "POST", url: "/api/v1/canaries", body: { steps: "abc" }, auth: true },
      { label: "steps numeric string", method: "POST", url: "/api/v1/canaries", body: { steps: "3" }, auth: true },
      { label: "steps 0", method: "POST", url: "/api/v1/canaries", body: { steps: 0 }, auth: true },
      { label: "steps 1000", method: "POST", url: "/api/v1/canaries", body: { steps: 1000 }, auth: true },
      { label: "steps fractional", method: "POST", url: "/api/v1/canaries", body: { steps: 1.5 }, auth: true },
      { label: "steps negative", method: "POST", url: "/api/v1/canaries", body: { steps: -1 }, auth: true },
      { label: "steps huge", method: "POST", url: "/api/v1/canaries", body: { steps: 1e308 }, auth: true },
      {
        label: "step_ms negative",
        method: "POST",
        url: "/api/v1/canaries",
        body: { steps: 1, step_ms: -5 },
        auth: true,
      },
      {
        label: "step_ms over the limit",
        method: "POST",
        url: "/api/v1/canaries",
        body: { steps: 1, step_ms: 60_001 },
        auth: true,
      },
      {
        label: "fail_at_step 0",
        method: "POST",
        url: "/api/v1/canaries",
        body: { steps: 1, fail_at_step: 0 },
        auth: true,
      },
      { label: "steps null", method: "POST", url: "/api/v1/canaries", body: { steps: null }, auth: true },
      { label: "api key name empty", method: "POST", url: "/api/v1/auth/api-keys", body: { name: "" }, auth: true },
      { label: "api key name blank", method: "POST", url: "/api/v1/auth/api-keys", body: { name: "    " }, auth: true },
      {
        label: "api key name too long",
        method: "POST",
        url: "/api/v1/auth/api-keys",
        body: { name: "n".repeat(101) },
        auth: true,
      },
      {
        label: "api key expiry 0 days",
        method: "POST",
        url: "/api/v1/auth/api-keys",
        body: { name: "k", expires_in_days: 0 },
        auth: true,
      },
      {
        label: "api key expiry fractional",
        method: "POST",
        url: "/api/v1/auth/api-keys",
        body: { name: "k", expires_in_days: 1.5 },
        auth: true,
      },
      {
        label: "api key expiry as a string",
        method: "POST",
        url: "/api/v1/auth/api-keys",
        body: { name: "k", expires_in_days: "7" },
        auth: true,
      },
      {
        label: "settings with an unknown key (strict schema)",
        method: "PUT",
        url: "/api/v1/settings",
        body: { theme: "dark" },
        auth: true,
      },
      {
        label: "settings: vast key too short",
        method: "PUT",
        url: "/api/v1/settings",
        body: { vast_api_key: "short" },
        auth: true,
      },
      {
        label: "settings: vast key only spaces",
        method: "PUT",
        url: "/api/v1/settings",
        body: { vast_api_key: "          " },
        auth: true,
      },
      {
        label: "settings: vast key as a number",
        method: "PUT",
        url: "/api/v1/settings",
        body: { vast_api_key: 12345678901 },
        auth: true,
      },
      {
        label: "settings: preferences as an array",
        method: "PUT",
        url: "/api/v1/settings",
        body: { settings: ["a"] },
        auth: true,
      },
      {
        label: "settings: preferences null",
        method: "PUT",
        url: "/api/v1/settings",
        body: { settings: null },
        auth: true,
      },
    ] as const)("$label → 400 VALIDATION_FAILED", async ({ method, url, body, auth }) => {
      const response = await sendJson(method, url, body, auth);
      const error = expectError(response, 400, "VALIDATION_FAILED");
      expect(Array.isArray(error.details.issues)).toBe(true);
      expect((error.details.issues as unknown[]).length).toBeGreaterThan(0);
    });

    it("an unknown settings key is named in the issues", async () => {
      const response = await sendJson("PUT", "/api/v1/settings", { settings: {}, sneaky: true });
      const error = expectError(response, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(error.details.issues)).toContain("sneaky");
      // Nothing was stored.
      const settings = await send({ method: "GET", url: "/api/v1/settings" });
      expect(settings.body).not.toContain("sneaky");
    });

    it.each([
      ["array", "[]"],
      ["string", '"x"'],
      ["null", "null"],
      ["number", "42"],
      ["boolean", "true"],
      ["array of objects", '[{"steps":1}]'],
    ])("a JSON %s as the body → 400 VALIDATION_FAILED on every JSON route", async (_label, payload) => {
      for (const route of BODY_ROUTES) {
        const response = await send({
          method: route.method,
          url: route.url,
          auth: route.auth,
          headers: JSON_HEADERS,
          payload,
        });
        const error = expectError(response, 400, "VALIDATION_FAILED");
        expect(Array.isArray(error.details.issues)).toBe(true);
      }
    });

    it.each([
      ["limit not a number", "/api/v1/events?limit=abc"],
      ["limit 0", "/api/v1/events?limit=0"],
      ["limit over the max", "/api/v1/events?limit=5000"],
      ["after negative", "/api/v1/events?after=-1"],
      ["after fractional", "/api/v1/events?after=1.5"],
      ["after beyond safe integers", "/api/v1/events?after=99999999999999999999"],
      ["resource too long", `/api/v1/events?resource=${"r".repeat(81)}`],
      ["id over 64 characters", `/api/v1/canaries/${"x".repeat(65)}`],
    ])("query and path: %s → 400 VALIDATION_FAILED", async (_label, url) => {
      expectError(await send({ method: "GET", url }), 400, "VALIDATION_FAILED");
    });
  });

  describe("routing and transport", () => {
    it.each([
      ["GET", "/api/v1/nope"],
      ["GET", "/api/v2/canaries"],
      ["POST", "/api/v1/canaries/can_x/explode"],
      ["GET", "/"],
      ["GET", "/api/v1/auth/api-keys/x/y"],
    ] as const)("%s %s → 404 ROUTE_NOT_FOUND with a hint", async (method, url) => {
      const response = await send({ method, url, auth: false });
      const error = expectError(response, 404, "ROUTE_NOT_FOUND");
      expect(error.hint).toContain("openapi.json");
    });

    it("a known path with an unsupported method gets a 4xx from the closed list", async () => {
      for (const [method, url] of [
        ["DELETE", "/api/v1/canaries"],
        ["PATCH", "/api/v1/settings"],
        ["PUT", "/api/v1/auth/login"],
      ] as const) {
        const error = expectClientError(await send({ method: method as Method, url }), `${method} ${url}`);
        expect(["ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED"]).toContain(error.code);
      }
    });

    it("a path with broken percent-encoding → 400 BAD_REQUEST in the standard error shape", async () => {
      const response = await send({ method: "GET", url: "/api/v1/canaries/%E0%A4%A" });
      expectError(response, 400, "BAD_REQUEST");
    });

    it("a path parameter longer than the router accepts → 4xx in the standard error shape", async () => {
      const response = await send({ method: "GET", url: `/api/v1/canaries/${"x".repeat(500)}` });
      expectClientError(response, "long path param");
    });

    it.each([
      ["text/plain", "hello"],
      ["text/plain", '{"steps":1}'],
      ["application/x-www-form-urlencoded", "steps=1"],
      ["multipart/form-data; boundary=x", "--x\r\n\r\n--x--"],
      ["application/xml", "<steps>1</steps>"],
    ])("Content-Type %s → 415 UNSUPPORTED_MEDIA_TYPE on every JSON route", async (contentType, payload) => {
      for (const route of BODY_ROUTES) {
        const response = await send({
          method: route.method,
          url: route.url,
          auth: route.auth,
          headers: { "content-type": contentType },
          payload,
        });
        const error = expectError(response, 415, "UNSUPPORTED_MEDIA_TYPE");
        expect(error.message.length).toBeGreaterThan(0);
      }
    });

    it("application/json with a charset parameter is still accepted", async () => {
      const withCharset = await send({
        method: "POST",
        url: "/api/v1/canaries",
        headers: { "content-type": "application/json; charset=utf-8" },
        payload: JSON.stringify({ steps: 1, step_ms: 0 }),
      });
      expect(withCharset.statusCode).toBe(201);
    });

    it("a JSON route called without any body gets a 4xx (not a crash)", async () => {
      for (const route of BODY_ROUTES) {
        const response = await send({ method: route.method, url: route.url, auth: route.auth });
        expectClientError(response, `${route.name} without body`);
      }
    });

    it("invalid body on a protected route without a token: still a 4xx", async () => {
      const response = await send({
        method: "POST",
        url: "/api/v1/canaries",
        auth: false,
        headers: JSON_HEADERS,
        payload: "{",
      });
      expectClientError(response, "malformed + no token");
    });
  });

  describe("big and deep bodies", () => {
    it("a body over DUMONT_BODY_LIMIT → 413 PAYLOAD_TOO_LARGE; a small one still works", async () => {
      const small = await startInProcessServer({
        dialect,
        startControllers: false,
        env: { DUMONT_BODY_LIMIT: "1024" },
      });
      try {
        const big = JSON.stringify({ email: `${"a".repeat(5 * 1024)}@example.com`, password: "long enough pw" });
        expect(big.length).toBeGreaterThan(5 * 1024);
        for (const route of BODY_ROUTES) {
          const response = await small.app.inject({
            method: route.method,
            url: route.url,
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

    it("a deeply nested JSON body → 400 (whole body, in a typed field, or in free-form settings)", async () => {
      const depth = 20_000;
      const deepArray = "[".repeat(depth) + "]".repeat(depth);
      const deepObject = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
      const cases: Array<[string, Method, string, string]> = [
        ["whole body", "POST", "/api/v1/canaries", deepArray],
        ["steps", "POST", "/api/v1/canaries", `{"steps":${deepArray}}`],
        ["api key name", "POST", "/api/v1/auth/api-keys", `{"name":${deepObject}}`],
        ["register email", "POST", "/api/v1/auth/register", `{"email":${deepObject},"password":"long enough pw"}`],
        ["settings array", "PUT", "/api/v1/settings", `{"settings":{"a":${deepArray}}}`],
        ["settings object", "PUT", "/api/v1/settings", `{"settings":${deepObject}}`],
      ];
      for (const [label, method, url, payload] of cases) {
        const response = await send({
          method,
          url,
          auth: url !== "/api/v1/auth/register",
          headers: JSON_HEADERS,
          payload,
        });
        const error = expectClientError(response, `deep ${label}`);
        expect(error.code, label).toBe("VALIDATION_FAILED");
      }
      // The server is still fine afterwards.
      expect((await send({ method: "GET", url: "/api/v1/settings" })).statusCode).toBe(200);
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
      const tooDeep = await sendJson("PUT", "/api/v1/settings", { settings: nest(33) });
      expectError(tooDeep, 400, "VALIDATION_FAILED");
      const stored = await send({ method: "GET", url: "/api/v1/settings" });
      expect(stored.json()).toEqual({ vast_api_key: { configured: false, hint: null }, settings: nest(32) });
    });

    it("huge arrays: refused where a scalar is expected, accepted in free-form settings", async () => {
      const huge = Array.from({ length: 100_000 }, (_, i) => i);
      expectError(await sendJson("POST", "/api/v1/canaries", { steps: huge }), 400, "VALIDATION_FAILED");
      expectError(await sendJson("POST", "/api/v1/canaries", huge), 400, "VALIDATION_FAILED");
      const issues = expectError(
        await sendJson("POST", "/api/v1/auth/register", huge.map(String), false),
        400,
        "VALIDATION_FAILED",
      ).details.issues as unknown[];
      // One issue for the wrong root type, not one per element.
      expect(issues.length).toBeLessThan(10);
      const stored = await sendJson("PUT", "/api/v1/settings", { settings: { big: huge } });
      expect(stored.statusCode).toBe(200);
      expect(stored.json<{ settings: { big: number[] } }>().settings.big).toHaveLength(100_000);
      // Reset for the other tests.
      expect((await sendJson("PUT", "/api/v1/settings", { settings: {} })).statusCode).toBe(200);
    });
  });

  describe("characters a database may refuse", () => {
    const NUL = "\u0000";

    it("NUL in stored text is either stored (SQLite) or refused with 400 BAD_REQUEST (PostgreSQL)", async () => {
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
    });

    it("NUL in ids and filters reads as not found or bad request, never 500", async () => {
      const cases: Array<[Method, string]> = [
        ["GET", "/api/v1/canaries/%00"],
        ["POST", "/api/v1/canaries/a%00b/cancel"],
        ["DELETE", "/api/v1/auth/api-keys/%00"],
        ["GET", "/api/v1/events?resource=%00"],
        ["GET", "/api/v1/events?resource=canaries:%00"],
      ];
      for (const [method, url] of cases) {
        const response = await send({ method, url });
        if (url.startsWith("/api/v1/events")) {
          if (response.statusCode === 200) {
            expect(response.json<{ events: unknown[] }>().events).toEqual([]);
            continue;
          }
        }
        const error = expectClientError(response, `${method} ${url}`);
        expect(["NOT_FOUND", "BAD_REQUEST"], `${method} ${url}`).toContain(error.code);
      }
    });

    it("login and register with NUL or lone surrogates: 4xx, never 500", async () => {
      for (const body of [
        { email: `nul${NUL}@example.com`, password: "long enough pw" },
        { email: account.email, password: `pw${NUL}` },
        { email: account.email, password: "\ud800\udc00\ud800" },
      ]) {
        expectClientError(await sendJson("POST", "/api/v1/auth/login", body, false), JSON.stringify(body));
      }
      expectClientError(
        await sendJson(
          "POST",
          "/api/v1/auth/register",
          { email: `nul${NUL}@example.com`, password: "long enough pw" },
          false,
        ),
        "register with NUL email",
      );
    });
  });

  describe("fuzzing", () => {
    const SEED = 0x5eed_d0;
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

    const strings = [
      "",
      " ",
      "a",
      "x@example.com",
      "UPPER@EXAMPLE.COM",
      "@",
      "a@b",
      "correct horse battery",
      "\u0000",
      "\ud800",
      "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
      "' OR 1=1 --",
      "<script>alert(1)</script>",
      "${jndi:ldap://x}",
      "__proto__",
      "%00%ff",
      "\\u0000",
      "a".repeat(300),
      "b".repeat(70),
    ];
    const numbers = [0, -0, 1, -1, 2, 3, 99, 100, 101, 3650, 3651, 0.5, 1e21, -1e21, Number.MAX_SAFE_INTEGER, 1e308];

    function randomValue(depth = 0): unknown {
      const roll = random();
      if (roll < 0.3) return pick(strings);
      if (roll < 0.55) return pick(numbers);
      if (roll < 0.62) return random() < 0.5;
      if (roll < 0.7) return null;
      if (depth > 3) return pick(strings);
      if (roll < 0.85) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
      return randomObject([], depth + 1);
    }

    /** Plausible values per field, so some fuzzed bodies get past validation into the handlers. */
    const GOOD: Record<string, () => unknown> = {
      email: () => pick([account.email, `fuzz${Math.floor(random() * 1e9)}@example.com`, "Fuzz@Example.com"]),
      username: () => pick([account.email, "nobody@example.com"]),
      password: () => pick([account.password, "wrong password", "12345678"]),
      name: () => pick(["ci", " spaced ", "ключ", "k".repeat(100)]),
      expires_in_days: () => pick([1, 30, 3650]),
      steps: () => pick([1, 2, 100]),
      step_ms: () => pick([0, 10, 60_000]),
      fail_at_step: () => pick([1, 50, 100]),
      vast_api_key: () => pick([null, "vast-key-12345678", "  padded-key-123  "]),
      settings: () => pick([{}, { theme: "dark" }, { nested: { list: [1, "two", null] } }]),
    };

    function randomObject(keys: readonly string[], depth = 0): Record<string, unknown> {
      const object: Record<string, unknown> = {};
      for (const key of keys) {
        if (random() < 0.25) continue;
        const good = GOOD[key];
        object[key] = good && depth === 0 && random() < 0.6 ? good() : randomValue(depth);
      }
      const extra = Math.floor(random() * 3);
      for (let i = 0; i < extra; i += 1)
        object[pick(["x", "id", "owner_id", "admin", "__proto__", "status"])] = randomValue(depth);
      return object;
    }

    const FIELDS: Record<(typeof BODY_ROUTES)[number]["name"], readonly string[]> = {
      register: ["email", "password"],
      login: ["email", "username", "password"],
      createApiKey: ["name", "expires_in_days"],
      createCanary: ["steps", "step_ms", "fail_at_step"],
      updateSettings: ["vast_api_key", "settings"],
    };

    function randomPayload(fields: readonly string[]): string {
      const roll = random();
      if (roll < 0.7) return JSON.stringify(randomObject(fields));
      if (roll < 0.8) return JSON.stringify(randomValue());
      // Mangled JSON: cut or corrupted text.
      const text = JSON.stringify(randomObject(fields));
      if (roll < 0.9) return text.slice(0, Math.floor(random() * text.length));
      const at = Math.floor(random() * text.length);
      return text.slice(0, at) + pick(["{", "}", '"', ",", ":", "\\", "\u0000", "]"]) + text.slice(at);
    }

    it.each(BODY_ROUTES.map((route) => [route.name, route] as const))(
      "50 random bodies to %s: every answer < 500 and errors are well-formed",
      async (_name, route) => {
        const statuses = new Map<number, number>();
        for (let i = 0; i < 50; i += 1) {
          const payload = randomPayload(FIELDS[route.name]);
          const response = await send({
            method: route.method,
            url: route.url,
            auth: route.auth,
            headers: JSON_HEADERS,
            payload,
          });
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          const label = `seed ${SEED} #${i} ${route.name} ${payload.slice(0, 200)}`;
          expect(response.statusCode, `${label} → ${response.body.slice(0, 300)}`).toBeLessThan(500);
          if (response.statusCode >= 400) expectClientError(response, label);
        }
        // The generator must not be so wild that only one outcome ever happens.
        expect(statuses.size).toBeGreaterThan(1);
      },
    );

    it("50 random ids and query values: every answer < 500", async () => {
      const segments = [
        "can_x",
        "%00",
        "%2F",
        "..",
        "%2e%2e",
        "a%20b",
        "😀",
        "%F0%9F%98%80",
        "x".repeat(64),
        "' or 1=1",
        "null",
        "-1",
        "%",
      ];
      for (let i = 0; i < 50; i += 1) {
        const segment = pick(segments);
        const url = pick([
          `/api/v1/canaries/${segment}`,
          `/api/v1/canaries/${segment}/cancel`,
          `/api/v1/auth/api-keys/${segment}`,
          `/api/v1/events?resource=${segment}&after=${String(pick(numbers))}&limit=${String(pick(numbers))}`,
          `/api/v1/events?resource=${segment}:${segment}`,
          `/api/v1/events/stream?after=${segment}`,
        ]);
        const method: Method = url.endsWith("/cancel")
          ? "POST"
          : url.startsWith("/api/v1/auth/api-keys/")
            ? "DELETE"
            : "GET";
        if (url.startsWith("/api/v1/events/stream")) {
          // Only invalid queries are sent to the stream (a valid one would stay open); they must fail fast.
          const response = await send({ method, url: `/api/v1/events/stream?after=-1&x=${segment}` });
          expectClientError(response, url);
          continue;
        }
        const response = await send({ method, url });
        expect(response.statusCode, `${method} ${url} → ${response.body.slice(0, 300)}`).toBeLessThan(500);
        if (response.statusCode >= 400) expectClientError(response, `${method} ${url}`);
      }
    });
  });
});

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { bearer, registerAccount, startInProcessServer, testDialects, type InProcessServer } from "@dumont/testing";
import { expectError } from "./helpers";

const dialects = await testDialects();

interface SessionBody {
  success: true;
  user: { id: string; email: string; created_at: string };
  token: string;
  expires_at: string;
}

interface MeBody {
  authenticated: true;
  user: { id: string; email: string; username: string };
  token: { id: string; kind: "session" | "api_key"; expires_at: string | null };
}

interface ApiKeyBody {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  key: string;
}

const PASSWORD = "correct horse battery";

function uniqueEmail(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}@example.com`;
}

describe.each(dialects)("auth (%s)", (dialect) => {
  let inproc: InProcessServer;

  beforeAll(async () => {
    inproc = await startInProcessServer({ dialect, startControllers: false });
  });
  afterAll(async () => {
    await inproc?.close();
  });

  const register = (email: string, password = PASSWORD) =>
    inproc.app.inject({ method: "POST", url: "/api/v1/auth/register", payload: { email, password } });
  const login = (payload: Record<string, unknown>, remoteAddress?: string) =>
    inproc.app.inject({
      method: "POST",
      url: "/api/v1/auth/login",
      payload,
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  const me = (token: string) => inproc.app.inject({ method: "GET", url: "/api/v1/auth/me", headers: bearer(token) });

  describe("register and login", () => {
    it("register answers 201 with a session token and the user", async () => {
      const email = uniqueEmail("Reg");
      const response = await register(email);
      expect(response.statusCode).toBe(201);
      const body = response.json<SessionBody>();
      expect(body.success).toBe(true);
      expect(body.token).toMatch(/^dmt_[A-Za-z0-9_-]{40,}$/);
      expect(body.user.id).toMatch(/^usr_/);
      expect(body.user.email).toBe(email.toLowerCase());
      expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
      expect(response.body).not.toContain(PASSWORD);

      const whoami = await me(body.token);
      expect(whoami.statusCode).toBe(200);
      expect(whoami.json<MeBody>().user.id).toBe(body.user.id);
    });

    it("a second registration with the same email (any case) is 409 EMAIL_TAKEN", async () => {
      const email = uniqueEmail("dup");
      expect((await register(email)).statusCode).toBe(201);
      const again = await register(email, "another password 123");
      expectError(again, 409, "EMAIL_TAKEN");
      const upper = await register(email.toUpperCase());
      expectError(upper, 409, "EMAIL_TAKEN");
    });

    it("a wrong password or an unknown email is 401 INVALID_CREDENTIALS, with the same message", async () => {
      const account = await registerAccount(inproc.app, "wrongpw");
      const wrong = await login({ email: account.email, password: "not the password" });
      const wrongError = expectError(wrong, 401, "INVALID_CREDENTIALS");
      const unknown = await login({ email: uniqueEmail("nobody"), password: "whatever it is" });
      const unknownError = expectError(unknown, 401, "INVALID_CREDENTIALS");
      // Same answer, so the endpoint does not tell which emails have accounts.
      expect(unknownError.message).toBe(wrongError.message);
      expect(wrong.body).not.toContain("token");
    });

    it("login with the right password answers 200 with a new working session token", async () => {
      const account = await registerAccount(inproc.app, "loginok");
      const response = await login({ email: account.email, password: account.password });
      expect(response.statusCode).toBe(200);
      const body = response.json<SessionBody>();
      expect(body.success).toBe(true);
      expect(body.user.id).toBe(account.userId);
      expect(body.token).toMatch(/^dmt_/);
      expect(body.token).not.toBe(account.token);
      const whoami = await me(body.token);
      expect(whoami.statusCode).toBe(200);
      expect(whoami.json<MeBody>().user.email).toBe(account.email);
    });

    it("login accepts `username` as an alias of `email` (and ignores case)", async () => {
      const account = await registerAccount(inproc.app, "alias");
      const response = await login({ username: account.email.toUpperCase(), password: account.password });
      expect(response.statusCode).toBe(200);
      expect(response.json<SessionBody>().user.id).toBe(account.userId);
    });

    it("login without email or username is 400 VALIDATION_FAILED", async () => {
      const response = await login({ password: PASSWORD });
      const error = expectError(response, 400, "VALIDATION_FAILED");
      expect(Array.isArray(error.details.issues)).toBe(true);
    });
  });

  describe("tokens", () => {
    it("me describes the user and the token", async () => {
      const account = await registerAccount(inproc.app, "me");
      const response = await me(account.token);
      expect(response.statusCode).toBe(200);
      const body = response.json<MeBody>();
      expect(body.authenticated).toBe(true);
      expect(body.user).toMatchObject({ id: account.userId, email: account.email, username: account.email });
      expect(body.token.kind).toBe("session");
      expect(body.token.id).toMatch(/^ses_/);
      expect(body.token.expires_at).not.toBeNull();
      expect(response.body).not.toContain(account.token);
    });

    it("logout revokes only the token used: it then gets 401 UNAUTHENTICATED, other sessions keep working", async () => {
      const account = await registerAccount(inproc.app, "logout");
      const other = (await login({ email: account.email, password: account.password })).json<SessionBody>().token;

      const logout = await inproc.app.inject({
        method: "POST",
        url: "/api/v1/auth/logout",
        headers: bearer(account.token),
      });
      expect(logout.statusCode).toBe(200);
      expect(logout.json<{ success: boolean }>().success).toBe(true);

      expectError(await me(account.token), 401, "UNAUTHENTICATED");
      // A second logout with the dead token is refused too.
      expectError(
        await inproc.app.inject({ method: "POST", url: "/api/v1/auth/logout", headers: bearer(account.token) }),
        401,
        "UNAUTHENTICATED",
      );
      expect((await me(other)).statusCode).toBe(200);
    });

    it("an expired session token is 401 UNAUTHENTICATED", async () => {
      const account = await registerAccount(inproc.app, "expired");
      const tokenId = (await me(account.token)).json<MeBody>().token.id;
      await inproc.server.context.database.db
        .updateTable("tokens")
        .set({ expires_at: Date.now() - 1000 })
        .where("id", "=", tokenId)
        .execute();
      expectError(await me(account.token), 401, "UNAUTHENTICATED");
    });

    it.each([
      ["garbage bearer token", { authorization: "Bearer garbage" }],
      ["well-formed but unknown token", { authorization: `Bearer dmt_${"A".repeat(43)}` }],
      ["Basic scheme", { authorization: "Basic dXNlcjpwYXNz" }],
      ["empty bearer", { authorization: "Bearer " }],
      ["two tokens", { authorization: "Bearer a b" }],
      ["no header", {}],
    ])("%s is 401 UNAUTHENTICATED", async (_label, headers: Record<string, string>) => {
      const response = await inproc.app.inject({ method: "GET", url: "/api/v1/auth/me", headers });
      const error = expectError(response, 401, "UNAUTHENTICATED");
      expect(error.hint).toBeTruthy();
    });

    it("protected routes other than me also need a token", async () => {
      for (const [method, url] of [
        ["GET", "/api/v1/settings"],
        ["GET", "/api/v1/auth/api-keys"],
        ["GET", "/api/v1/canaries"],
        ["GET", "/api/v1/events"],
        ["POST", "/api/v1/auth/logout"],
      ] as const) {
        expectError(await inproc.app.inject({ method, url }), 401, "UNAUTHENTICATED");
      }
    });
  });

  describe("API keys", () => {
    it("create shows the key once; list never shows it; the key authenticates until revoked", async () => {
      const account = await registerAccount(inproc.app, "keys");
      const created = await inproc.app.inject({
        method: "POST",
        url: "/api/v1/auth/api-keys",
        headers: bearer(account.token),
        payload: { name: "  ci script  " },
      });
      expect(created.statusCode).toBe(201);
      const key = created.json<ApiKeyBody>();
      expect(key.key).toMatch(/^dmk_[A-Za-z0-9_-]{40,}$/);
      expect(key.id).toMatch(/^key_/);
      expect(key.name).toBe("ci script");
      expect(key.prefix).toBe(key.key.slice(0, key.prefix.length));
      expect(key.prefix.length).toBeLessThan(key.key.length / 2);
      expect(key.expires_at).toBeNull();
      expect(key.revoked_at).toBeNull();

      const list = await inproc.app.inject({
        method: "GET",
        url: "/api/v1/auth/api-keys",
        headers: bearer(account.token),
      });
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain(key.key);
      expect(list.body).not.toContain(key.key.slice(key.prefix.length));
      const listed = list.json<{ api_keys: Array<Record<string, unknown>>; count: number }>();
      expect(listed.count).toBe(1);
      expect(listed.api_keys[0]).toMatchObject({ id: key.id, name: "ci script", prefix: key.prefix, revoked_at: null });
      expect(listed.api_keys[0]).not.toHaveProperty("key");

      const whoami = await me(key.key);
      expect(whoami.statusCode).toBe(200);
      const meBody = whoami.json<MeBody>();
      expect(meBody.user.id).toBe(account.userId);
      expect(meBody.token).toMatchObject({ id: key.id, kind: "api_key", expires_at: null });

      const revoke = await inproc.app.inject({
        method: "DELETE",
        url: `/api/v1/auth/api-keys/${key.id}`,
        headers: bearer(account.token),
      });
      expect(revoke.statusCode).toBe(200);
      expect(revoke.json<{ success: boolean }>().success).toBe(true);

      expectError(await me(key.key), 401, "UNAUTHENTICATED");
      // Revoking twice: the key is no longer active, so it reads as missing.
      expectError(
        await inproc.app.inject({
          method: "DELETE",
          url: `/api/v1/auth/api-keys/${key.id}`,
          headers: bearer(account.token),
        }),
        404,
        "NOT_FOUND",
      );
      const after = await inproc.app.inject({
        method: "GET",
        url: "/api/v1/auth/api-keys",
        headers: bearer(account.token),
      });
      const revokedEntry = after.json<{ api_keys: Array<{ id: string; revoked_at: string | null }> }>().api_keys[0];
      expect(revokedEntry?.id).toBe(key.id);
      expect(revokedEntry?.revoked_at).not.toBeNull();
      expect(after.body).not.toContain(key.key);
    });

    it("an API key with an expiry reports it, and stops working once expired", async () => {
      const account = await registerAccount(inproc.app, "keyexp");
      const created = await inproc.app.inject({
        method: "POST",
        url: "/api/v1/auth/api-keys",
        headers: bearer(account.token),
        payload: { name: "short", expires_in_days: 1 },
      });
      expect(created.statusCode).toBe(201);
      const key = created.json<ApiKeyBody>();
      const lifetime = Date.parse(key.expires_at ?? "") - Date.parse(key.created_at);
      expect(lifetime).toBe(86_400_000);
      expect((await me(key.key)).statusCode).toBe(200);
      await inproc.server.context.database.db
        .updateTable("tokens")
        .set({ expires_at: Date.now() - 1 })
        .where("id", "=", key.id)
        .execute();
      expectError(await me(key.key), 401, "UNAUTHENTICATED");
    });

    it("revoking another user's key (or a session id) is 404 NOT_FOUND and the key keeps working", async () => {
      const owner = await registerAccount(inproc.app, "keyowner");
      const intruder = await registerAccount(inproc.app, "keyintruder");
      const key = (
        await inproc.app.inject({
          method: "POST",
          url: "/api/v1/auth/api-keys",
          headers: bearer(owner.token),
          payload: { name: "owner key" },
        })
      ).json<ApiKeyBody>();

      const revoke = await inproc.app.inject({
        method: "DELETE",
        url: `/api/v1/auth/api-keys/${key.id}`,
        headers: bearer(intruder.token),
      });
      expectError(revoke, 404, "NOT_FOUND");
      expect(revoke.body).not.toContain(owner.email);
      expect(revoke.body).not.toContain("owner key");

      const intruderList = await inproc.app.inject({
        method: "GET",
        url: "/api/v1/auth/api-keys",
        headers: bearer(intruder.token),
      });
      expect(intruderList.json<{ count: number }>().count).toBe(0);
      expect(intruderList.body).not.toContain(key.id);

      // The api-keys route cannot be used to end a session either.
      const sessionId = (await me(owner.token)).json<MeBody>().token.id;
      expectError(
        await inproc.app.inject({
          method: "DELETE",
          url: `/api/v1/auth/api-keys/${sessionId}`,
          headers: bearer(owner.token),
        }),
        404,
        "NOT_FOUND",
      );
      expect((await me(owner.token)).statusCode).toBe(200);
      expect((await me(key.key)).statusCode).toBe(200);
    });

    it("an API key can manage keys too (it is a full bearer token)", async () => {
      const account = await registerAccount(inproc.app, "keykey");
      const first = (
        await inproc.app.inject({
          method: "POST",
          url: "/api/v1/auth/api-keys",
          headers: bearer(account.token),
          payload: { name: "first" },
        })
      ).json<ApiKeyBody>();
      const second = await inproc.app.inject({
        method: "POST",
        url: "/api/v1/auth/api-keys",
        headers: bearer(first.key),
        payload: { name: "second" },
      });
      expect(second.statusCode).toBe(201);
      const list = await inproc.app.inject({ method: "GET", url: "/api/v1/auth/api-keys", headers: bearer(first.key) });
      expect(list.json<{ count: number }>().count).toBe(2);
    });
  });

  describe("login rate limiting", () => {
    let limited: InProcessServer;
    beforeAll(async () => {
      limited = await startInProcessServer({
        dialect,
        startControllers: false,
        env: { DUMONT_LOGIN_MAX_FAILURES: "3" },
      });
    });
    afterAll(async () => {
      await limited?.close();
    });
    const attempt = (email: string, password: string) =>
      limited.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { email, password } });

    it("after DUMONT_LOGIN_MAX_FAILURES wrong passwords, even the right one gets 429 RATE_LIMITED", async () => {
      const account = await registerAccount(limited.app, "throttled");
      const bystander = await registerAccount(limited.app, "bystander");

      for (let i = 0; i < 3; i += 1) {
        expectError(await attempt(account.email, `wrong password ${i}`), 401, "INVALID_CREDENTIALS");
      }

      const blocked = await attempt(account.email, account.password);
      const error = expectError(blocked, 429, "RATE_LIMITED");
      const retryAfter = error.details.retry_after_seconds;
      expect(typeof retryAfter).toBe("number");
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
      expect(blocked.headers["retry-after"]).toBe(String(retryAfter));
      expect(blocked.body).not.toContain("dmt_");

      // The account stays blocked, and the email's case does not get around it.
      expectError(await attempt(account.email.toUpperCase(), account.password), 429, "RATE_LIMITED");
      // Another account from the same address is not locked out by someone else's failures.
      expect((await attempt(bystander.email, bystander.password)).statusCode).toBe(200);
      // Existing sessions are not affected.
      const whoami = await limited.app.inject({
        method: "GET",
        url: "/api/v1/auth/me",
        headers: bearer(account.token),
      });
      expect(whoami.statusCode).toBe(200);
    });

    it("a successful login resets the failure count", async () => {
      const account = await registerAccount(limited.app, "reset");
      for (let round = 0; round < 2; round += 1) {
        for (let i = 0; i < 2; i += 1) {
          expectError(await attempt(account.email, "wrong"), 401, "INVALID_CREDENTIALS");
        }
        expect((await attempt(account.email, account.password)).statusCode).toBe(200);
      }
    });

    it("per-IP limit: with DUMONT_IP_MAX_ATTEMPTS=4 the 5th attempt from one address is 429", async () => {
      const limited = await startInProcessServer({
        dialect,
        startControllers: false,
        env: { DUMONT_IP_MAX_ATTEMPTS: "4" },
      });
      try {
        const attempt = (remoteAddress: string, n: number) =>
          limited.app.inject({
            method: "POST",
            url: "/api/v1/auth/login",
            remoteAddress,
            payload: { email: `ip-${n}-${Math.random().toString(36).slice(2)}@example.com`, password: "guess guess" },
          });
        for (let n = 1; n <= 4; n += 1) expectError(await attempt("203.0.113.7", n), 401, "INVALID_CREDENTIALS");
        const fifth = await attempt("203.0.113.7", 5);
        const error = expectError(fifth, 429, "RATE_LIMITED");
        expect(error.details.retry_after_seconds).toEqual(expect.any(Number));
        expect(fifth.headers["retry-after"]).toBe(String(error.details.retry_after_seconds));

        // Registration from the same address counts against the same limit.
        const register = await limited.app.inject({
          method: "POST",
          url: "/api/v1/auth/register",
          remoteAddress: "203.0.113.7",
          payload: { email: uniqueEmail("ipreg"), password: PASSWORD },
        });
        expectError(register, 429, "RATE_LIMITED");

        // Another address is unaffected.
        expectError(await attempt("198.51.100.9", 6), 401, "INVALID_CREDENTIALS");
      } finally {
        await limited.close();
      }
    });
  });
});

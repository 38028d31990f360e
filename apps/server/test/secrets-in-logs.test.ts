import { describe, it, expect, beforeAll, afterAll } from "vitest";
import pino from "pino";
import { bearer, startInProcessServer, testDialects, type InProcessServer } from "@dumont/testing";
import { LOG_REDACTIONS } from "../src/http/app";
import { expectError } from "./helpers";

const dialects = await testDialects();

const PASSWORD = "Sup3r-Secret-Passw0rd!";
const VAST_KEY = "vastsecret-XYZ-1234567890";

describe.each(dialects)("secrets never reach the logs or the database in clear (%s)", (dialect) => {
  const logLines: string[] = [];
  let inproc: InProcessServer;
  let email: string;
  let userId: string;
  const sessionTokens: string[] = [];
  let apiKey: string;

  const logText = () => logLines.join("");

  beforeAll(async () => {
    const logger = pino(
      { level: "trace", redact: { paths: LOG_REDACTIONS, censor: "[redacted]" } },
      { write: (line: string) => void logLines.push(line) },
    );
    inproc = await startInProcessServer({ dialect, logger });
    const { app } = inproc;
    email = `logs-${Math.random().toString(36).slice(2, 8)}@example.com`;

    const register = await app.inject({
      method: "POST",
      url: "/api/v1/auth/register",
      payload: { email, password: PASSWORD },
    });
    expect(register.statusCode).toBe(201);
    const registered = register.json<{ token: string; user: { id: string } }>();
    sessionTokens.push(registered.token);
    userId = registered.user.id;

    const login = await app.inject({
      method: "POST",
      url: "/api/v1/auth/login",
      payload: { username: email, password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const token = login.json<{ token: string }>().token;
    sessionTokens.push(token);

    // Failures log too: make sure they do not print what was sent.
    expectError(
      await app.inject({
        method: "POST",
        url: "/api/v1/auth/login",
        payload: { email, password: `${PASSWORD}-wrong` },
      }),
      401,
      "INVALID_CREDENTIALS",
    );
    expectError(
      await app.inject({ method: "POST", url: "/api/v1/auth/register", payload: { email, password: PASSWORD } }),
      409,
      "EMAIL_TAKEN",
    );
    const tooShort = await app.inject({
      method: "POST",
      url: "/api/v1/auth/register",
      payload: { email: "short@example.com", password: "Sh0rt!" },
    });
    expectError(tooShort, 400, "VALIDATION_FAILED");
    expect(tooShort.body).not.toContain("Sh0rt!");

    const created = await app.inject({
      method: "POST",
      url: "/api/v1/auth/api-keys",
      headers: bearer(token),
      payload: { name: "logs test" },
    });
    expect(created.statusCode).toBe(201);
    apiKey = created.json<{ key: string }>().key;
    expect(apiKey).toMatch(/^dmk_/);

    const put = await app.inject({
      method: "PUT",
      url: "/api/v1/settings",
      headers: bearer(token),
      payload: { vast_api_key: VAST_KEY },
    });
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain(VAST_KEY);
    expect(put.json()).toEqual({
      vast_api_key: { configured: true, hint: "…7890" },
      gcp_credentials: { configured: false, hint: null },
      settings: {},
    });

    const settingsWithKey = await app.inject({ method: "GET", url: "/api/v1/settings", headers: bearer(apiKey) });
    expect(settingsWithKey.statusCode).toBe(200);

    const me = await app.inject({ method: "GET", url: "/api/v1/auth/me", headers: bearer(token) });
    expect(me.statusCode).toBe(200);
    expect(me.body).not.toContain(token);
    expect(me.body).not.toContain(VAST_KEY);

    // A request with a bad token and one with a token in an unexpected place.
    expectError(
      await app.inject({ method: "GET", url: "/api/v1/auth/me", headers: bearer(`${apiKey}x`) }),
      401,
      "UNAUTHENTICATED",
    );
    await app.inject({ method: "GET", url: "/api/v1/auth/me", headers: { authorization: `Basic ${token}` } });

    // Tokens in query strings (as a browser's EventSource must send them): the URL is logged on
    // every request, so each of these would print a credential verbatim without redaction.
    for (const url of queryStringUrls(token, apiKey)) {
      const response = await app.inject({ method: "GET", url });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
    }
  });
  afterAll(async () => {
    await inproc?.close();
  });

  it("GET /settings shows only that a key is configured and its last 4 characters", async () => {
    const response = await inproc.app.inject({
      method: "GET",
      url: "/api/v1/settings",
      headers: bearer(sessionTokens[1] ?? ""),
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain(VAST_KEY);
    expect(response.body).not.toContain("vastsecret");
    expect(response.json()).toEqual({
      vast_api_key: { configured: true, hint: "…7890" },
      gcp_credentials: { configured: false, hint: null },
      settings: {},
    });
  });

  it("the logs were captured (so the checks below are meaningful)", () => {
    const text = logText();
    expect(logLines.length).toBeGreaterThan(10);
    expect(text).toContain("/api/v1/auth/login");
    expect(text).toContain("/api/v1/settings");
    expect(text).toContain("INVALID_CREDENTIALS");
    for (const line of logLines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it("the logs contain no password, session token, API key or Vast key", () => {
    const text = logText();
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain("Sh0rt!");
    for (const token of sessionTokens) {
      expect(text).not.toContain(token);
      // Not even the random part without its prefix.
      expect(text).not.toContain(token.slice(4));
    }
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain(apiKey.slice(4));
    expect(text).not.toContain(VAST_KEY);
    expect(text).not.toContain("vastsecret");
  });

  it("request URLs are logged with query-string credentials redacted, the rest kept", () => {
    const urls = logLines
      .map((line) => (JSON.parse(line) as { req?: { url?: string } }).req?.url)
      .filter((url): url is string => url !== undefined);
    expect(urls).toContain("/api/v1/events/stream?token=[redacted]");
    expect(urls).toContain("/api/v1/events/stream?resource=canaries%3Ax&access_token=[redacted]&after=0");
    expect(urls).toContain("/api/v1/auth/me?api_key=[redacted]");
    expect(urls).toContain("/api/v1/auth/me?key=[redacted]");
    expect(urls).toContain("/api/v1/auth/me?whatever=[redacted]");
    expect(urls).toContain("/api/v1/auth/me?t=[redacted]");
    expect(urls).toContain("/api/v1/instances/[redacted]");
    expect(urls).toContain("/api/v1/auth/me?hf_token=[redacted]&vast_api_key=[redacted]");
  });

  it("LOG_REDACTIONS hides the fields that would carry secrets if a log call included them", () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "info", redact: { paths: LOG_REDACTIONS, censor: "[redacted]" } },
      { write: (line: string) => void lines.push(line) },
    );
    logger.info(
      { req: { headers: { authorization: `Bearer ${apiKey}`, cookie: `session=${sessionTokens[0] ?? ""}` } } },
      "request",
    );
    logger.info({ body: { password: PASSWORD, token: sessionTokens[0], key: apiKey, vast_api_key: VAST_KEY } }, "body");
    const text = lines.join("");
    expect(text).toContain("[redacted]");
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(VAST_KEY);
    for (const token of sessionTokens) expect(text).not.toContain(token);
  });

  it("the database holds the Vast key sealed, not in clear", async () => {
    const row = await inproc.server.context.database.db
      .selectFrom("user_settings")
      .selectAll()
      .where("user_id", "=", userId)
      .executeTakeFirstOrThrow();
    expect(row.vast_api_key_sealed).toBeTruthy();
    const sealed = row.vast_api_key_sealed ?? "";
    expect(sealed).not.toContain(VAST_KEY);
    expect(sealed).not.toContain("vastsecret");
    expect(sealed).not.toContain(Buffer.from(VAST_KEY).toString("base64url"));
    expect(sealed).not.toContain(Buffer.from(VAST_KEY).toString("base64"));
    expect(sealed).not.toContain(Buffer.from(VAST_KEY).toString("hex"));
    expect(sealed).toMatch(/^v1\./);
    expect(row.vast_api_key_hint).toBe("7890");
    // The server itself can still open it (it needs the key for marketplace calls).
    expect(await inproc.server.context.settings.vastApiKey(userId)).toBe(VAST_KEY);
  });

  it("the database holds neither the password nor any token in clear", async () => {
    const { db } = inproc.server.context.database;
    const users = JSON.stringify(await db.selectFrom("users").selectAll().execute());
    expect(users).toContain(email);
    expect(users).not.toContain(PASSWORD);
    const tokens = JSON.stringify(await db.selectFrom("tokens").selectAll().where("user_id", "=", userId).execute());
    expect(tokens).toContain("logs test");
    for (const token of [...sessionTokens, apiKey]) {
      expect(tokens).not.toContain(token);
      expect(tokens).not.toContain(token.slice(10));
    }
  });
});

/** Requests that carry a credential in the URL, in every shape a client might use. */
function queryStringUrls(token: string, apiKey: string): string[] {
  return [
    `/api/v1/events/stream?token=${token}`,
    `/api/v1/events/stream?resource=canaries%3Ax&access_token=${token}&after=0`,
    `/api/v1/auth/me?api_key=${apiKey}`,
    `/api/v1/auth/me?key=${apiKey}`,
    // Any parameter whose value is one of our tokens, whatever its name (also percent-encoded).
    `/api/v1/auth/me?whatever=${apiKey}`,
    `/api/v1/auth/me?t=${encodeURIComponent(token).replace("_", "%5F")}`,
    // A token pasted into the path.
    `/api/v1/instances/${token}`,
    `/api/v1/auth/me?hf_token=${VAST_KEY}&vast_api_key=${VAST_KEY}`,
  ];
}

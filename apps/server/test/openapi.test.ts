import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { API_ROUTES, ERROR_CODE_LIST, type RouteDefinition } from "@dumont/core";
import { bearer, registerAccount, startInProcessServer, type InProcessServer } from "@dumont/testing";

interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Array<Record<string, unknown>>;
  requestBody?: unknown;
  parameters?: Array<{ name: string; in: string }>;
  responses?: Record<string, unknown>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, unknown>; schemas?: Record<string, unknown> };
}

describe("OpenAPI document, health and metrics", () => {
  let inproc: InProcessServer;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    inproc = await startInProcessServer({ startControllers: false });
    const response = await inproc.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/application\/json/);
    doc = response.json<OpenApiDocument>();
  });
  afterAll(async () => {
    await inproc?.close();
  });

  it("is OpenAPI 3.1 with a title and the server version", () => {
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.components?.securitySchemes).toHaveProperty("bearer");
  });

  const routes = Object.entries(API_ROUTES) as Array<[string, RouteDefinition]>;

  it.each(routes)("%s appears under its path with its method and operationId", (name, route) => {
    const pathItem = doc.paths[route.path];
    expect(pathItem, `path ${route.path} missing; have ${Object.keys(doc.paths).join(", ")}`).toBeDefined();
    const operation = pathItem?.[route.method.toLowerCase()];
    expect(operation, `${route.method} ${route.path} missing`).toBeDefined();
    expect(operation?.operationId).toBe(name);
    expect(operation?.summary).toBe(route.summary);
    expect(operation?.tags).toEqual([route.tag]);
    expect(operation?.responses).toHaveProperty(String(route.successStatus));
    // Authenticated routes declare the bearer scheme; public ones declare none.
    if (route.auth) expect(operation?.security).toEqual([{ bearer: [] }]);
    else expect(operation?.security).toEqual([]);
    if (route.body) expect(operation?.requestBody).toBeDefined();
    else expect(operation?.requestBody).toBeUndefined();
    if (route.path.includes("{id}")) {
      expect(operation?.parameters?.some((p) => p.name === "id" && p.in === "path")).toBe(true);
    }
  });

  it("lists no operation the contract does not declare (the SSE stream and file download aside), and no hidden routes", () => {
    const declared = new Set(routes.map(([, r]) => `${r.method.toLowerCase()} ${r.path}`));
    const documented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) documented.push(`${method} ${path}`);
    }
    const extra = documented.filter((op) => !declared.has(op));
    // The two byte-stream routes live outside the JSON contract.
    expect(extra.filter((op) => !op.startsWith("get /api/v1/jobs/{id}/outputs/"))).toEqual([
      "get /api/v1/events/stream",
    ]);
    expect(extra.filter((op) => op.startsWith("get /api/v1/jobs/{id}/outputs/"))).toHaveLength(1);
    expect(Object.keys(doc.paths)).not.toContain("/health");
    expect(Object.keys(doc.paths)).not.toContain("/metrics");
    expect(Object.keys(doc.paths)).not.toContain("/api/v1/openapi.json");
    // Path templates use {name}, never Fastify's :name.
    for (const path of Object.keys(doc.paths)) expect(path).not.toContain(":");
  });

  it("operationIds are unique", () => {
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("error responses use the ErrorBody schema with the closed list of codes", () => {
    const text = JSON.stringify(doc);
    for (const code of ERROR_CODE_LIST) expect(text).toContain(code);
  });

  it("/health answers 200 with status ok", async () => {
    const response = await inproc.app.inject({ method: "GET", url: "/health" });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ status: string; database: string; version: string }>();
    expect(body.status).toBe("ok");
    expect(body.database).toBe("sqlite");
    expect(body.version).toBe(doc.info.version);
    expect(response.headers["x-request-id"]).toMatch(/^req_/);
  });

  it("/metrics is Prometheus text with dumont_http_requests_total counting API calls", async () => {
    const account = await registerAccount(inproc.app, "metrics");
    await inproc.app.inject({ method: "GET", url: "/api/v1/auth/me", headers: bearer(account.token) });
    await inproc.app.inject({ method: "GET", url: "/api/v1/nope" });
    const response = await inproc.app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/text\/plain/);
    expect(response.body).toContain("dumont_http_requests_total");
    expect(response.body).toMatch(/# TYPE dumont_http_requests_total counter/);
    const meLine = response.body
      .split("\n")
      .find((line) => line.startsWith("dumont_http_requests_total{") && line.includes('route="/api/v1/auth/me"'));
    expect(meLine, "no counter line for /api/v1/auth/me").toBeDefined();
    expect(meLine).toContain('status="200"');
    expect(Number(meLine?.split(" ").at(-1))).toBeGreaterThanOrEqual(1);
    // No secret ever reaches a label.
    expect(response.body).not.toContain(account.token);
  });
});

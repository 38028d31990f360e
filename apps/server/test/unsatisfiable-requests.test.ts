import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";
import { DeployBody } from "@dumont/core";
import { expectError, type InjectedResponse } from "./helpers";

interface DeploymentBody {
  id: string;
  status: string;
  error: string | null;
}

/**
 * Requests that can never succeed are refused at create with the same check the offers search
 * uses, and a deployment whose search keeps failing ends `failed` with the reason after
 * DUMONT_SEARCH_TIMEOUT_S instead of searching forever. The server's market is a Vast.ai URL
 * where nothing listens, so every search fails.
 */
describe("requests that can never succeed", () => {
  let server: InProcessServer;
  let user: Account;

  beforeAll(async () => {
    server = await startInProcessServer({
      env: {
        DUMONT_MARKET: "vast",
        VAST_API_KEY: "unreachable-key",
        DUMONT_VAST_URL: "http://127.0.0.1:9",
        DUMONT_SEARCH_TIMEOUT_S: "2",
      },
    });
    user = await registerAccount(server.app, "narnia");
  });
  afterAll(async () => {
    await server.close();
  });

  const post = (url: string, payload: unknown) =>
    server.app.inject({ method: "POST", url, headers: bearer(user.token), payload: payload as object });
  const get = (url: string) => server.app.inject({ method: "GET", url, headers: bearer(user.token) });
  const messageOf = (response: InjectedResponse) => expectError(response, 400, "VALIDATION_FAILED").message;

  const waitEnded = async (id: string): Promise<DeploymentBody> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const body = (await get(`/api/v1/wizard/deployments/${id}`)).json<DeploymentBody>();
      if (["completed", "failed", "cancelled"].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`deployment ${id} still ${body.status}`);
      await sleep(100);
    }
  };

  it("refuses an unknown region on a deploy and a job exactly as the offers search does", async () => {
    const offers = messageOf(await get("/api/v1/instances/offers?region=Narnia"));
    expect(offers).toMatch(/unknown region Narnia/);
    const deploy = messageOf(await post("/api/v1/wizard/deploy", { region: "Narnia" }));
    const job = messageOf(await post("/api/v1/jobs", { name: "n", command: "true", region: "Narnia" }));
    const preview = messageOf(await get("/api/v1/wizard/offers?region=Narnia"));
    for (const message of [deploy, job, preview]) expect(message).toMatch(/unknown region Narnia: use global, US/);
    // Mixed lists are checked part by part; known names and country codes pass.
    expect(messageOf(await post("/api/v1/wizard/deploy", { region: "EU,Narnia" }))).toMatch(/unknown region Narnia/);
    expect(messageOf(await post("/api/v1/jobs", { name: "n", command: "true", gpu_type: "x".repeat(65) }))).toMatch(
      /gpu_type/,
    );
    const listed = (await get("/api/v1/wizard/deployments")).json<{ count: number }>();
    expect(listed.count).toBe(0);
  });

  it("fails a deployment whose search keeps failing, with the reason, after DUMONT_SEARCH_TIMEOUT_S", async () => {
    const created = await post("/api/v1/wizard/deploy", { region: "US,EU,de", max_price: 1 });
    expect(created.statusCode).toBe(201);
    const started = Date.now();
    const done = await waitEnded(created.json<DeploymentBody>().id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^no offer search succeeded in \d+ s: /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  it("fails at once a stored deployment whose region was never checked, and keeps answering", async () => {
    // As a deployment accepted before regions were checked at create: stored with "Narnia".
    const config = { ...DeployBody.parse({}), region: "Narnia" };
    const row = await server.server.context.wizard.deploy(user.userId, config);
    const done = await waitEnded(row.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^the offer search cannot succeed: VALIDATION_FAILED: unknown region Narnia/);
    expect((await get("/api/v1/wizard/deployments")).statusCode).toBe(200);
  });
});

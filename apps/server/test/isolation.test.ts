import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  testDialects,
  type Account,
  type InProcessServer,
} from "@dumont/testing";
import { expectError } from "./helpers";

const dialects = await testDialects();

interface CanaryBody {
  id: string;
  status: string;
  steps_total: number;
}

interface EventsBody {
  events: Array<{ id: number; resource_id: string; resource_type: string; to_status: string; actor: string }>;
  next_after: number;
}

describe.each(dialects)("tenant isolation (%s)", (dialect) => {
  let inproc: InProcessServer;
  let alice: Account;
  let bob: Account;
  let canary: CanaryBody;

  beforeAll(async () => {
    inproc = await startInProcessServer({ dialect });
    alice = await registerAccount(inproc.app, "alice");
    bob = await registerAccount(inproc.app, "bob");
    const created = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/canaries",
      headers: bearer(alice.token),
      payload: { steps: 1, step_ms: 0 },
    });
    expect(created.statusCode).toBe(201);
    canary = created.json<CanaryBody>();
    expect(canary.id).toMatch(/^can_/);
    expect(canary.steps_total).toBe(1);
  });
  afterAll(async () => {
    await inproc?.close();
  });

  /** Nothing that identifies Alice or her canary's contents may appear in an answer to Bob. */
  function expectNoAliceData(body: string): void {
    expect(body).not.toContain(alice.userId);
    expect(body).not.toContain(alice.email);
    expect(body).not.toContain(alice.token);
    expect(body).not.toContain("steps_total");
  }

  it("Alice sees her own canary", async () => {
    const response = await inproc.app.inject({
      method: "GET",
      url: `/api/v1/canaries/${canary.id}`,
      headers: bearer(alice.token),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json<CanaryBody>().id).toBe(canary.id);
  });

  it("Bob gets 404 NOT_FOUND for Alice's canary, exactly as for an id that does not exist", async () => {
    const response = await inproc.app.inject({
      method: "GET",
      url: `/api/v1/canaries/${canary.id}`,
      headers: bearer(bob.token),
    });
    const error = expectError(response, 404, "NOT_FOUND");
    expectNoAliceData(response.body);
    expect(response.body).not.toMatch(/"status":"(pending|running|completed)"/);

    const missing = await inproc.app.inject({
      method: "GET",
      url: "/api/v1/canaries/can_doesnotexist",
      headers: bearer(bob.token),
    });
    const missingError = expectError(missing, 404, "NOT_FOUND");
    // Same answer apart from the id echoed back: Bob cannot tell "someone else's" from "missing".
    expect(missingError.message.replace("can_doesnotexist", "ID")).toBe(error.message.replace(canary.id, "ID"));
  });

  it("Bob cannot cancel Alice's canary (404, and it is left untouched)", async () => {
    const before = (
      await inproc.app.inject({ method: "GET", url: `/api/v1/canaries/${canary.id}`, headers: bearer(alice.token) })
    ).json<CanaryBody>();
    const response = await inproc.app.inject({
      method: "POST",
      url: `/api/v1/canaries/${canary.id}/cancel`,
      headers: bearer(bob.token),
    });
    expectError(response, 404, "NOT_FOUND");
    expectNoAliceData(response.body);
    const after = (
      await inproc.app.inject({ method: "GET", url: `/api/v1/canaries/${canary.id}`, headers: bearer(alice.token) })
    ).json<CanaryBody>();
    expect(after.status).not.toBe("cancelled");
    if (before.status === "completed") expect(after.status).toBe("completed");
  });

  it("Bob's canary list is empty; Alice's has her canary", async () => {
    const bobList = await inproc.app.inject({ method: "GET", url: "/api/v1/canaries", headers: bearer(bob.token) });
    expect(bobList.statusCode).toBe(200);
    expect(bobList.json<{ canaries: unknown[]; count: number }>()).toEqual({ canaries: [], count: 0 });
    expect(bobList.body).not.toContain(canary.id);

    const aliceList = await inproc.app.inject({ method: "GET", url: "/api/v1/canaries", headers: bearer(alice.token) });
    const aliceBody = aliceList.json<{ canaries: CanaryBody[]; count: number }>();
    expect(aliceBody.count).toBe(1);
    expect(aliceBody.canaries.map((c) => c.id)).toEqual([canary.id]);
  });

  it("events of Alice's canary: Alice sees them, Bob sees none (by id, by type:id, or unfiltered)", async () => {
    const aliceEvents = await inproc.app.inject({
      method: "GET",
      url: `/api/v1/events?resource=${canary.id}`,
      headers: bearer(alice.token),
    });
    expect(aliceEvents.statusCode).toBe(200);
    const events = aliceEvents.json<EventsBody>().events;
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.every((e) => e.resource_id === canary.id)).toBe(true);
    expect(events[0]).toMatchObject({ resource_type: "canaries", to_status: "pending", actor: `user:${alice.userId}` });

    for (const url of [
      `/api/v1/events?resource=${canary.id}`,
      `/api/v1/events?resource=canaries:${canary.id}`,
      "/api/v1/events",
      "/api/v1/events?after=0&limit=1000",
    ]) {
      const response = await inproc.app.inject({ method: "GET", url, headers: bearer(bob.token) });
      expect(response.statusCode, url).toBe(200);
      const body = response.json<EventsBody>();
      expect(body.events, url).toEqual([]);
      expect(body.next_after).toBe(0);
      expect(response.body).not.toContain(canary.id);
      expect(response.body).not.toContain(alice.userId);
    }
  });

  it("the event stream refuses a request without a token", async () => {
    // The SSE route keeps the connection open, so Bob's stream is read over a real socket in
    // events-stream.test.ts; here only its authentication boundary is checked.
    const response = await inproc.app.inject({
      method: "GET",
      url: `/api/v1/events/stream?resource=${canary.id}`,
    });
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("settings are per user: Bob sees neither Alice's Vast key nor her preferences", async () => {
    const vastKey = "alice-vast-key-0123456789";
    const put = await inproc.app.inject({
      method: "PUT",
      url: "/api/v1/settings",
      headers: bearer(alice.token),
      payload: { vast_api_key: vastKey, settings: { theme: "alice-dark", region: "eu-alice" } },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json<{ vast_api_key: { configured: boolean } }>().vast_api_key.configured).toBe(true);

    const bobSettings = await inproc.app.inject({ method: "GET", url: "/api/v1/settings", headers: bearer(bob.token) });
    expect(bobSettings.statusCode).toBe(200);
    expect(bobSettings.json()).toEqual({ vast_api_key: { configured: false, hint: null }, settings: {} });
    expect(bobSettings.body).not.toContain("alice-dark");
    expect(bobSettings.body).not.toContain(vastKey.slice(-4));

    const bobMe = await inproc.app.inject({ method: "GET", url: "/api/v1/auth/me", headers: bearer(bob.token) });
    expect(bobMe.json<{ user: { settings: Record<string, unknown> } }>().user.settings).toEqual({});
    expect(bobMe.body).not.toContain("alice-dark");

    // Bob writing his own settings does not touch Alice's.
    const bobPut = await inproc.app.inject({
      method: "PUT",
      url: "/api/v1/settings",
      headers: bearer(bob.token),
      payload: { settings: { theme: "bob-light" } },
    });
    expect(bobPut.statusCode).toBe(200);
    const aliceSettings = await inproc.app.inject({
      method: "GET",
      url: "/api/v1/settings",
      headers: bearer(alice.token),
    });
    expect(aliceSettings.json()).toEqual({
      vast_api_key: { configured: true, hint: `…${vastKey.slice(-4)}` },
      settings: { theme: "alice-dark", region: "eu-alice" },
    });
  });

  it("Bob's canaries are not visible to Alice either", async () => {
    const created = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/canaries",
      headers: bearer(bob.token),
      payload: { steps: 1, step_ms: 0 },
    });
    expect(created.statusCode).toBe(201);
    const bobCanary = created.json<CanaryBody>();
    expectError(
      await inproc.app.inject({ method: "GET", url: `/api/v1/canaries/${bobCanary.id}`, headers: bearer(alice.token) }),
      404,
      "NOT_FOUND",
    );
    const aliceList = await inproc.app.inject({ method: "GET", url: "/api/v1/canaries", headers: bearer(alice.token) });
    expect(aliceList.body).not.toContain(bobCanary.id);
    const aliceEvents = await inproc.app.inject({ method: "GET", url: "/api/v1/events", headers: bearer(alice.token) });
    expect(aliceEvents.body).not.toContain(bobCanary.id);
  });
});

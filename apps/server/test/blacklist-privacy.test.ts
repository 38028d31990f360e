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

interface Entry {
  id: number;
  machine_id: string;
  blacklist_type: string;
  is_active: boolean;
  hidden: boolean;
}
interface Offer {
  machine_id: string;
  is_blacklisted: boolean;
}
interface Attempt {
  machine_id: string;
  instance_id: string | null;
}

/**
 * The attacks: any user could DELETE an automatic blacklist entry (200, gone for everyone), and
 * `history/attempts` listed every user's attempts with their instance ids. Now a user's DELETE
 * only hides the automatic entry for that user, removing it for everyone is the operator's, and
 * attempts list only one's own (others' count in the aggregates).
 */
describe.each(dialects)("blacklist and history across users (%s)", (dialect) => {
  let inproc: InProcessServer;
  let operator: Account;
  let alice: Account;
  let bob: Account;
  let host: string;

  const call = (account: Account, method: "GET" | "DELETE", url: string) =>
    inproc.app.inject({ method, url, headers: bearer(account.token) });
  const check = async (account: Account, machine: string) =>
    (await call(account, "GET", `/api/v1/machines/history/blacklist/check/vast.ai/${machine}`)).json<{
      is_blacklisted: boolean;
    }>().is_blacklisted;
  const offeredHosts = async (account: Account) => {
    const response = await call(account, "GET", "/api/v1/instances/offers?limit=200");
    expect(response.statusCode).toBe(200);
    return new Set(response.json<{ offers: Offer[] }>().offers.map((o) => o.machine_id));
  };

  beforeAll(async () => {
    inproc = await startInProcessServer({
      dialect,
      startControllers: false,
      env: { DUMONT_MARKET: "embedded", DUMONT_REGISTRATION: "open" },
    });
    // The first account is the operator; the others are plain users.
    operator = await registerAccount(inproc.app, "operator");
    alice = await registerAccount(inproc.app, "alice");
    bob = await registerAccount(inproc.app, "bob");

    // A real host of the market, failing three boots in a row for Alice: the history service
    // (the same call the instance controller makes) blacklists it automatically, for everyone.
    const offers = await call(alice, "GET", "/api/v1/instances/offers?limit=200");
    host = offers.json<{ offers: Offer[] }>().offers[0]?.machine_id ?? "";
    expect(host).not.toBe("");
    for (let i = 0; i < 3; i += 1) {
      await inproc.server.context.history.record({
        provider: "vast.ai",
        machineId: host,
        offerId: `offer-${i}`,
        instanceId: `inst_alice_${i}`,
        userId: alice.userId,
        gpuName: "RTX 4090",
        numGpus: 1,
        pricePerHour: 0.3,
        geolocation: "US",
        success: false,
        failureStage: "loading",
        failureReason: `alice's private failure ${i}`,
        timeToReadyS: null,
      });
    }
    await inproc.server.context.history.record({
      provider: "vast.ai",
      machineId: "bob-host",
      offerId: "offer-b",
      instanceId: "inst_bob_1",
      userId: bob.userId,
      gpuName: "RTX 3090",
      numGpus: 1,
      pricePerHour: 0.2,
      geolocation: "EU",
      success: true,
      failureStage: null,
      failureReason: null,
      timeToReadyS: 42,
    });
  });
  afterAll(async () => {
    await inproc?.close();
  });

  it("the host is blacklisted automatically for every user and left out of their offers", async () => {
    for (const account of [operator, alice, bob]) {
      expect(await check(account, host)).toBe(true);
      expect((await offeredHosts(account)).has(host)).toBe(false);
    }
  });

  it("a user's DELETE hides the automatic entry for that user only; everyone else stays protected", async () => {
    const removed = await call(bob, "DELETE", `/api/v1/machines/history/blacklist/vast.ai/${host}`);
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({ success: true, removed: 0, hidden: 1 });
    expect(removed.json<{ message: string }>().message).toContain("still protects other users");

    // Bob opted out: the host is offered to him again and `check` says so …
    expect(await check(bob, host)).toBe(false);
    expect((await offeredHosts(bob)).has(host)).toBe(true);
    const bobList = (await call(bob, "GET", "/api/v1/machines/history/blacklist")).json<{ entries: Entry[] }>();
    expect(bobList.entries.find((e) => e.machine_id === host)).toMatchObject({
      blacklist_type: "auto",
      is_active: true,
      hidden: true,
    });
    // … while the entry itself is untouched for Alice and the operator.
    for (const account of [alice, operator]) {
      expect(await check(account, host)).toBe(true);
      expect((await offeredHosts(account)).has(host)).toBe(false);
      const list = (await call(account, "GET", "/api/v1/machines/history/blacklist")).json<{ entries: Entry[] }>();
      expect(list.entries.find((e) => e.machine_id === host)).toMatchObject({ is_active: true, hidden: false });
    }
    // Hiding twice finds nothing left to take off Bob's blacklist.
    expectError(await call(bob, "DELETE", `/api/v1/machines/history/blacklist/vast.ai/${host}`), 404, "NOT_FOUND");
  });

  it("removing an automatic entry for everyone is the operator's: a user gets 403 and nothing changes", async () => {
    expectError(
      await call(alice, "DELETE", `/api/v1/machines/history/blacklist/vast.ai/${host}?scope=everyone`),
      403,
      "FORBIDDEN",
    );
    expect(await check(alice, host)).toBe(true);

    const removed = await call(operator, "DELETE", `/api/v1/machines/history/blacklist/vast.ai/${host}?scope=everyone`);
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({ success: true, removed: 1 });
    for (const account of [operator, alice, bob]) expect(await check(account, host)).toBe(false);
  });

  it("a user's own manual entry is still theirs to remove, and invisible to others", async () => {
    const added = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/machines/history/blacklist",
      headers: bearer(alice.token),
      payload: { provider: "vast.ai", machine_id: "alice-only", reason: "slow disk" },
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ blacklist_type: "manual", hidden: false });
    expect(await check(bob, "alice-only")).toBe(false);
    expectError(await call(bob, "DELETE", "/api/v1/machines/history/blacklist/vast.ai/alice-only"), 404, "NOT_FOUND");
    expect(await check(alice, "alice-only")).toBe(true);
    const removed = await call(alice, "DELETE", "/api/v1/machines/history/blacklist/vast.ai/alice-only");
    expect(removed.json()).toMatchObject({ success: true, removed: 1, hidden: 0 });
    expect(await check(alice, "alice-only")).toBe(false);
  });

  it("history attempts list only the caller's own; others' appear only as per-host aggregates", async () => {
    const bobAttempts = (await call(bob, "GET", "/api/v1/machines/history/attempts")).json<{
      attempts: Attempt[];
    }>();
    expect(bobAttempts.attempts.map((a) => a.instance_id)).toEqual(["inst_bob_1"]);
    const bobBody = JSON.stringify(bobAttempts);
    expect(bobBody).not.toContain("inst_alice");
    expect(bobBody).not.toContain("alice's private failure");
    // Filtering by Alice's host does not bring her attempts back either.
    const filtered = await call(bob, "GET", `/api/v1/machines/history/attempts?machine_id=${host}`);
    expect(filtered.json<{ count: number }>().count).toBe(0);

    const aliceAttempts = (await call(alice, "GET", "/api/v1/machines/history/attempts")).json<{
      attempts: Attempt[];
    }>();
    expect(aliceAttempts.attempts.map((a) => a.instance_id).sort()).toEqual([
      "inst_alice_0",
      "inst_alice_1",
      "inst_alice_2",
    ]);

    // Bob still learns what the host did for everyone, as numbers.
    const stats = await call(bob, "GET", `/api/v1/machines/history/stats/vast.ai/${host}`);
    expect(stats.json()).toMatchObject({ total_attempts: 3, failed_attempts: 3 });
    expect(stats.body).not.toContain("inst_alice");
    const summary = await call(bob, "GET", "/api/v1/machines/history/summary");
    expect(summary.json()).toMatchObject({ total_attempts: 4, failed: 3 });
  });
});

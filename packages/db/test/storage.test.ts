import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { CANARY_MACHINE, DumontError, type CanaryStatus } from "@dumont/core";
import {
  CanariesRepository,
  ControlledStore,
  EventsRepository,
  SettingsRepository,
  TokensRepository,
  UsersRepository,
  dialectFor,
  openDatabase,
  type CanaryRow,
  type OpenedDatabase,
} from "@dumont/db";
import { dropTestSchema, tempDir, testDatabase, testDialects, type TestDatabase } from "@dumont/testing";

const dialects = await testDialects();

function canary(id: string, ownerId: string, now: number): CanaryRow {
  return {
    id,
    owner_id: ownerId,
    status: "pending",
    lease_owner: null,
    lease_expires_at: null,
    next_run_at: now,
    created_at: now,
    updated_at: now,
    steps_total: 2,
    steps_done: 0,
    step_ms: 0,
    fail_at_step: null,
    error: null,
  };
}

describe.each(dialects)("storage on %s", (name) => {
  let target: TestDatabase;
  let opened: OpenedDatabase;
  let home: string;
  const open = () =>
    openDatabase(
      dialectFor({ url: target.databaseUrl, sqliteFile: join(home, "dumont.db"), postgresSchema: target.pgSchema }),
    );

  beforeAll(async () => {
    target = testDatabase(name);
    home = tempDir();
    opened = await open();
    await opened.db
      .insertInto("users")
      .values([
        { id: "u1", email: "one@example.com", password_hash: "x", created_at: 1 },
        { id: "u2", email: "two@example.com", password_hash: "x", created_at: 2 },
      ])
      .execute();
  });

  afterAll(async () => {
    await opened.close();
    await dropTestSchema(target);
  });

  it("applies migrations once: reopening the same database is a no-op", async () => {
    const again = await open();
    const users = await again.db.selectFrom("users").select("id").execute();
    expect(users.map((u) => u.id).sort()).toEqual(["u1", "u2"]);
    await again.close();
  });

  it("turns a duplicate email into EMAIL_TAKEN", async () => {
    const users = new UsersRepository(opened.db, opened.dialect);
    const error = await users
      .create({ id: "u3", email: "one@example.com", password_hash: "x", created_at: 3 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DumontError);
    expect((error as DumontError).code).toBe("EMAIL_TAKEN");
  });

  it("finds only tokens that are neither revoked nor expired", async () => {
    const tokens = new TokensRepository(opened.db);
    const base = { user_id: "u1", name: "t", prefix: "p", created_at: 0, revoked_at: null, last_used_at: null };
    await tokens.insert({ ...base, id: "t1", kind: "session", token_hash: "h1", expires_at: 1000 });
    await tokens.insert({ ...base, id: "t2", kind: "api_key", token_hash: "h2", expires_at: null });
    expect(await tokens.findActiveByHash("h1", 999)).toMatchObject({ id: "t1" });
    expect(await tokens.findActiveByHash("h1", 1000)).toBeUndefined();
    expect(await tokens.findActiveByHash("h2", 10 ** 13)).toMatchObject({ id: "t2", kind: "api_key" });
    expect(await tokens.revoke({ id: "t2", userId: "u2", now: 5 })).toBe(false);
    expect(await tokens.revoke({ id: "t2", userId: "u1", now: 5 })).toBe(true);
    expect(await tokens.findActiveByHash("h2", 6)).toBeUndefined();
    expect((await tokens.listApiKeys("u1")).map((t) => t.id)).toEqual(["t2"]);
  });

  it("upserts settings", async () => {
    const settings = new SettingsRepository(opened.db);
    const row = {
      user_id: "u1",
      vast_api_key_sealed: "s1",
      vast_api_key_hint: "1234",
      gcp_credentials_sealed: "g1",
      gcp_credentials_hint: "sa@p.iam.gserviceaccount.com (p)",
      preferences: "{}",
      updated_at: 1,
    };
    await settings.save(row);
    await settings.save({ ...row, vast_api_key_sealed: null, vast_api_key_hint: null, preferences: '{"a":1}' });
    expect(await settings.find("u1")).toMatchObject({
      vast_api_key_sealed: null,
      gcp_credentials_sealed: "g1",
      preferences: '{"a":1}',
    });
    expect(await settings.find("u2")).toBeUndefined();
  });

  it("claims due rows with a lease, and only again once the lease expired", async () => {
    const store = new ControlledStore(opened.db, opened.dialect);
    await new CanariesRepository(opened.db).insert(canary("c-lease", "u1", 100));
    const claim = (owner: string, now: number) =>
      store.claimDue("canaries", { owner, leaseMs: 1000, limit: 10, now, activeStatuses: ["pending"] });
    expect((await claim("a", 200)).map((r) => r.id)).toContain("c-lease");
    expect((await claim("b", 300)).map((r) => r.id)).not.toContain("c-lease");
    expect(await store.renewLease("canaries", { id: "c-lease", owner: "b", leaseMs: 1000, now: 300 })).toBe(false);
    const reclaimed = await claim("b", 1300);
    expect(reclaimed.find((r) => r.id === "c-lease")).toMatchObject({ lease_owner: "b", lease_expires_at: 2300 });
  });

  it("guards transitions: lease holder only, declared transitions only, and writes an event", async () => {
    const store = new ControlledStore(opened.db, opened.dialect);
    await new CanariesRepository(opened.db).insert(canary("c-tr", "u2", 0));
    await store.claimDue("canaries", { owner: "me", leaseMs: 1000, limit: 10, now: 10, activeStatuses: ["pending"] });
    const request = { table: "canaries" as const, machine: CANARY_MACHINE, id: "c-tr", actor: "me", reason: "go" };

    const stolen = await store.transition({ ...request, to: "running", leaseOwner: "other", now: 20 });
    expect(stolen).toMatchObject({ ok: false, reason: "lease lost" });
    const skipping = await store.transition({ ...request, to: "completed", leaseOwner: "me", now: 20 });
    expect(skipping).toMatchObject({ ok: false });
    const expired = await store.transition({ ...request, to: "running", leaseOwner: "me", now: 5000 });
    expect(expired).toMatchObject({ ok: false, reason: "lease expired" });

    const ok = await store.transition<CanaryStatus, CanaryRow>({
      ...request,
      to: "running",
      leaseOwner: "me",
      now: 30,
      patch: { steps_done: 1 },
    });
    expect(ok.ok).toBe(true);
    expect(ok.row).toMatchObject({ status: "running", steps_done: 1, updated_at: 30 });
    const events = await new EventsRepository(opened.db).forResource("c-tr");
    expect(events.map((e) => [e.from_status, e.to_status, e.actor, e.owner_id])).toEqual([
      ["pending", "running", "me", "u2"],
    ]);
  });

  it("turns API refusals into NOT_FOUND for other owners and INVALID_TRANSITION for the owner", async () => {
    const store = new ControlledStore(opened.db, opened.dialect);
    await new CanariesRepository(opened.db).insert({ ...canary("c-api", "u1", 0), status: "completed" });
    const base = {
      table: "canaries" as const,
      machine: CANARY_MACHINE,
      id: "c-api",
      to: "cancelled" as const,
      reason: "x",
      now: 1,
    };
    await expect(store.transitionOrThrow({ ...base, actor: "user:u2", ownerId: "u2" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(store.transitionOrThrow({ ...base, actor: "user:u1", ownerId: "u1" })).rejects.toMatchObject({
      code: "INVALID_TRANSITION",
    });
  });

  it("lists events per owner, oldest first, with paging", async () => {
    const events = new EventsRepository(opened.db);
    for (let i = 0; i < 5; i++) {
      await events.append({
        resource_type: "canaries",
        resource_id: "c-ev",
        owner_id: "u1",
        from_status: null,
        to_status: `s${i}`,
        reason: "r",
        actor: "a",
        created_at: i,
      });
    }
    const first = await events.list({ ownerId: "u1", resourceId: "c-ev", afterId: 0, limit: 3 });
    expect(first.map((e) => e.to_status)).toEqual(["s0", "s1", "s2"]);
    const rest = await events.list({ ownerId: "u1", resourceId: "c-ev", afterId: first.at(-1)?.id ?? 0, limit: 10 });
    expect(rest.map((e) => e.to_status)).toEqual(["s3", "s4"]);
    expect(await events.list({ ownerId: "u2", resourceId: "c-ev", afterId: 0, limit: 10 })).toEqual([]);
  });

  it("lets concurrent claimers take disjoint rows", async () => {
    if (!opened.dialect.supportsMultipleProcesses) return; // one SQLite writer: nothing concurrent to prove
    const stores = [1, 2, 3].map(() => open());
    const databases = await Promise.all(stores);
    const repo = new CanariesRepository(opened.db);
    for (let i = 0; i < 60; i++) await repo.insert(canary(`c-many-${i}`, "u1", 0));
    const claims = await Promise.all(
      databases.map((d, i) =>
        new ControlledStore(d.db, d.dialect).claimDue("canaries", {
          owner: `r${i}`,
          leaseMs: 60_000,
          limit: 25,
          now: 1_000,
          activeStatuses: ["pending"],
        }),
      ),
    );
    const ids = claims
      .flat()
      .map((r) => r.id)
      .filter((id) => id.startsWith("c-many-"));
    expect(new Set(ids).size).toBe(ids.length);
    await Promise.all(databases.map((d) => d.close()));
  });
});

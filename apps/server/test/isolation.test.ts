import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  testDialects,
  type Account,
  type InProcessServer,
} from "@dumont/testing";
import { expectError, JSON_HEADERS, type InjectedResponse } from "./helpers";
import {
  fillPath,
  listen,
  loadOperations,
  sampleOf,
  send,
  type ApiOperation,
  type Listening,
  type Method,
} from "./openapi-cases";

/**
 * Tenant isolation, generated from the OpenAPI document: for every operation that addresses a
 * resource by path parameters, Alice creates one (through a fixture below) and Bob, calling that
 * operation with Alice's parameters, gets exactly what he gets for a resource that does not exist
 * (404 NOT_FOUND, never 403, never her data). Every list Bob can read, with every filter set to
 * Alice's ids, shows none of her resources; and Alice's own views are unchanged afterwards.
 *
 * Controllers are off: creates insert rows and nothing is rented, so fixtures are cheap; the
 * market is checked to hold no machine at the end all the same.
 */
const dialects = await testDialects();
const operations = await loadOperations();

interface Caller {
  account: Account;
  call(method: Method, url: string, body?: unknown): Promise<InjectedResponse>;
}

interface Created {
  /** The path parameters that address the resource. */
  params: Record<string, string>;
  /** Strings only Alice's resource contains: Bob must never read them. */
  secrets: string[];
}

interface FixtureContext {
  inproc: InProcessServer;
  marker: string;
}

interface Fixture {
  /** Alice creates one resource of this kind. */
  create(alice: Caller, ctx: FixtureContext): Promise<Created>;
  /**
   * How Bob's call is answered when not "404 NOT_FOUND, as for a missing resource":
   * `as-missing` (the same answer as for a missing one, whatever its status) or `shared`
   * (data every user may read, e.g. aggregates over all users; it must not contain her secrets).
   */
  answers?: Partial<Record<string, "as-missing" | "shared">>;
  /** Stops what the resource started, so nothing is left rented. */
  cleanup?(alice: Caller, created: Created): Promise<void>;
}

function created(response: InjectedResponse, what: string): Record<string, unknown> {
  expect(response.statusCode, `creating ${what}: ${response.body.slice(0, 300)}`).toBeLessThan(300);
  return response.json<Record<string, unknown>>();
}

/** Alice rents the market's first offer (controllers are off: a row, nothing boots). */
async function rentInstance(alice: Caller, marker: string): Promise<Record<string, unknown>> {
  const offers = created(await alice.call("GET", "/api/v1/instances/offers?limit=1"), "offer search");
  const offer = (offers.offers as Array<{ id: string }>)[0];
  if (!offer) throw new Error("the embedded market offers nothing");
  return created(
    await alice.call("POST", "/api/v1/instances", { offer_id: offer.id, label: marker, disk_size: 10 }),
    "instance",
  );
}

/** Host ids are sent by Bob himself (and may be echoed back), so they carry no marker. */
const hostName = () => `host-${Math.random().toString(36).slice(2, 10)}`;

const ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice";

/**
 * One fixture per resource kind, keyed by the path prefix of the operations that address it (the
 * longest matching prefix wins). A new route with a path parameter and no prefix here fails the
 * suite, naming the route: add its fixture here.
 */
const FIXTURES: Record<string, Fixture> = {
  "/api/v1/auth/api-keys/{id}": {
    async create(alice, { marker }) {
      const key = created(await alice.call("POST", "/api/v1/auth/api-keys", { name: marker }), "api key");
      return { params: { id: String(key.id) }, secrets: [String(key.id), String(key.key), marker] };
    },
  },
  "/api/v1/canaries/{id}": {
    async create(alice) {
      const canary = created(await alice.call("POST", "/api/v1/canaries", { steps: 1, step_ms: 0 }), "canary");
      return { params: { id: String(canary.id) }, secrets: [String(canary.id)] };
    },
    async cleanup(alice, { params }) {
      await alice.call("POST", `/api/v1/canaries/${params.id}/cancel`);
    },
  },
  "/api/v1/instances/{id}": {
    async create(alice, { marker }) {
      const instance = await rentInstance(alice, marker);
      return { params: { id: String(instance.id) }, secrets: [String(instance.id), marker] };
    },
    async cleanup(alice, { params }) {
      await alice.call("DELETE", `/api/v1/instances/${params.id}`);
    },
  },
  "/api/v1/standby/associations/{id}": {
    async create(alice, { marker }) {
      const instance = await rentInstance(alice, marker);
      const standby = created(
        await alice.call("POST", "/api/v1/standby/associations", { instance_id: instance.id }),
        "standby",
      );
      return {
        params: { id: String(standby.id) },
        secrets: [String(standby.id), String(instance.id), String(standby.vm_name), marker],
      };
    },
    async cleanup(alice, { params }) {
      const standby = (await alice.call("DELETE", `/api/v1/standby/associations/${params.id}`)).json<{
        instance_id: string;
      }>();
      await alice.call("DELETE", `/api/v1/instances/${standby.instance_id}`);
    },
  },
  "/api/v1/ssh-keys/{id}": {
    async create(alice, { marker }) {
      const key = created(
        await alice.call("POST", "/api/v1/ssh-keys", { name: marker, public_key: ED25519_KEY }),
        "ssh key",
      );
      return { params: { id: String(key.id) }, secrets: [String(key.id), marker] };
    },
  },
  "/api/v1/wizard/deployments/{id}": {
    async create(alice) {
      const deployment = created(await alice.call("POST", "/api/v1/wizard/deploy", {}), "deployment");
      return { params: { id: String(deployment.id) }, secrets: [String(deployment.id)] };
    },
    async cleanup(alice, { params }) {
      await alice.call("POST", `/api/v1/wizard/deployments/${params.id}/cancel`);
    },
  },
  "/api/v1/jobs/{id}": {
    async create(alice, { marker }) {
      const job = created(await alice.call("POST", "/api/v1/jobs", { name: marker, command: `echo ${marker}` }), "job");
      return { params: { id: String(job.id), "*": "output/result.txt" }, secrets: [String(job.id), marker] };
    },
    async cleanup(alice, { params }) {
      await alice.call("POST", `/api/v1/jobs/${params.id}/cancel`);
    },
  },
  "/api/v1/machines/history/blacklist/{provider}/{machine_id}": {
    async create(alice, { marker }) {
      const host = hostName();
      created(
        await alice.call("POST", "/api/v1/machines/history/blacklist", {
          provider: "vast.ai",
          machine_id: host,
          reason: `reason ${marker}`,
        }),
        "blacklist entry",
      );
      return { params: { provider: "vast.ai", machine_id: host }, secrets: [host, marker] };
    },
  },
  "/api/v1/machines/history/blacklist/check/{provider}/{machine_id}": {
    async create(alice, { marker }) {
      const host = hostName();
      created(
        await alice.call("POST", "/api/v1/machines/history/blacklist", {
          provider: "vast.ai",
          machine_id: host,
          reason: `reason ${marker}`,
        }),
        "blacklist entry",
      );
      return { params: { provider: "vast.ai", machine_id: host }, secrets: [marker] };
    },
    // Bob's own blacklist does not hold the host: the answer is "not blacklisted", as for any host.
    answers: { checkBlacklist: "as-missing" },
  },
  "/api/v1/machines/history/stats/{provider}/{machine_id}": {
    // Host statistics are aggregates over everyone's attempts; Alice's attempt is planted directly
    // (no machine boots with controllers off) so the aggregate has something of hers in it.
    async create(_alice, { inproc, marker }) {
      const host = hostName();
      const instanceId = `ins_${marker}`;
      await inproc.server.context.repos.history.recordAttempt({
        provider: "vast.ai",
        machine_id: host,
        offer_id: `offer-${marker}`,
        instance_id: instanceId,
        user_id: _alice.account.userId,
        gpu_name: "RTX 4090",
        num_gpus: 1,
        price_per_hour: 0.5,
        geolocation: "US",
        success: 0,
        failure_stage: "connecting",
        failure_reason: `reason ${marker}`,
        time_to_ready_s: null,
        attempted_at: Date.now(),
      });
      return { params: { provider: "vast.ai", machine_id: host }, secrets: [instanceId, `offer-${marker}`, marker] };
    },
    answers: { historyHostStats: "shared" },
  },
};

function fixtureKeyFor(op: ApiOperation): string | undefined {
  return Object.keys(FIXTURES)
    .filter((prefix) => op.path === prefix || op.path.startsWith(`${prefix}/`))
    .sort((a, b) => b.length - a.length)[0];
}

/** Parameters of a resource of the same kind that does not exist. */
/**
 * The same parameters naming a resource that does not exist: ids change, while names that select
 * a namespace rather than a resource (the file path, the marketplace) stay valid.
 */
const KEPT_PARAMS = new Set(["*", "provider"]);
function missingParams(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      KEPT_PARAMS.has(name) ? value : `${value.slice(0, -1)}${value.endsWith("0") ? "1" : "0"}`,
    ]),
  );
}

const addressed = operations.filter((op) => op.pathParams.length > 0);
const lists = operations.filter((op) => op.method === "GET" && op.pathParams.length === 0 && !op.streams);

describe.each(dialects)("tenant isolation, generated from the OpenAPI document (%s)", (dialect) => {
  let inproc: InProcessServer;
  let target: Listening;
  let alice: Caller;
  let bob: Caller;
  const resources = new Map<string, Created>();
  const aliceViewsBefore = new Map<string, string>();

  function callerFor(account: Account): Caller {
    return {
      account,
      call: (method, url, body) =>
        send(target, {
          method,
          url,
          headers: { ...bearer(account.token), ...(body === undefined ? {} : JSON_HEADERS) },
          payload: body === undefined ? undefined : JSON.stringify(body),
        }),
    };
  }

  /** Alice's answers to every list she can read (default query), to compare before and after. */
  async function aliceViews(): Promise<Map<string, string>> {
    const views = new Map<string, string>();
    for (const op of lists.filter((o) => !o.operatorOnly)) {
      const response = await alice.call("GET", op.path);
      views.set(op.id, `${response.statusCode} ${response.body}`);
    }
    return views;
  }

  beforeAll(async () => {
    inproc = await startInProcessServer({
      dialect,
      startControllers: false,
      env: { DUMONT_MARKET: "embedded", DUMONT_REGISTRATION: "open" },
    });
    target = await listen(inproc.app);
    await registerAccount(inproc.app, "operator"); // the first account is the operator
    alice = callerFor(await registerAccount(inproc.app, "alice"));
    bob = callerFor(await registerAccount(inproc.app, "bob"));
    for (const [prefix, fixture] of Object.entries(FIXTURES)) {
      const marker = `alice${Math.random().toString(36).slice(2, 10)}`;
      resources.set(prefix, await fixture.create(alice, { inproc, marker }));
    }
    for (const [id, view] of await aliceViews()) aliceViewsBefore.set(id, view);
  });
  afterAll(async () => {
    await inproc?.close();
  });

  const allSecrets = () => [
    alice.account.userId,
    alice.account.email,
    alice.account.token,
    ...[...resources.values()].flatMap((r) => r.secrets),
  ];

  /** Secrets in Bob's answer, except where it only echoes what Bob sent himself. */
  function leaked(body: string, sent: string[] = []): string[] {
    const found = allSecrets().filter((s) => !sent.some((v) => v.includes(s)) && body.includes(s));
    // What Bob sent may be echoed in a message, never inside the listed items.
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      for (const value of Object.values(parsed)) {
        if (!Array.isArray(value)) continue;
        for (const item of value) {
          const text = JSON.stringify(item);
          found.push(...allSecrets().filter((s) => text.includes(s)));
        }
      }
    } catch {
      // Not JSON: the plain check above is all.
    }
    return [...new Set(found)];
  }

  function requestFor(op: ApiOperation, params: Record<string, string>) {
    const body = op.body ? sampleOf(op.body, `${op.id} body`) : undefined;
    return { url: fillPath(op.path, { "*": "output/result.txt", ...params }), body };
  }

  it("every operation with a path parameter has an isolation fixture", () => {
    const missing = addressed.filter((op) => !op.operatorOnly && fixtureKeyFor(op) === undefined);
    expect(
      missing.map(
        (op) =>
          `operation ${op.id} (${op.method} ${op.path}) has a path parameter but no isolation fixture — ` +
          "add one to FIXTURES in apps/server/test/isolation.test.ts",
      ),
    ).toEqual([]);
  });

  it("Alice's own views show each of her resources (so Bob's 404s are about ownership)", async () => {
    for (const [prefix, resource] of resources) {
      const ownGets = addressed.filter((op) => fixtureKeyFor(op) === prefix && op.method === "GET" && !op.streams);
      const bodies: string[] = [];
      for (const op of ownGets) {
        const { url } = requestFor(op, resource.params);
        const response = await alice.call("GET", url);
        if (op.path === prefix) expect(response.statusCode, `${op.id}: ${response.body.slice(0, 200)}`).toBe(200);
        bodies.push(response.body);
      }
      bodies.push(...aliceViewsBefore.values());
      const id =
        Object.entries(resource.params)
          .filter(([name]) => name !== "*")
          .at(-1)?.[1] ?? "";
      expect(
        bodies.some((b) => b.includes(id)),
        `none of Alice's views mention ${prefix} ${id}`,
      ).toBe(true);
    }
  });

  it.each(addressed.map((op) => [`${op.id} (${op.method} ${op.path})`, op] as const))(
    "Bob calling %s with Alice's parameters learns nothing",
    async (_name, op) => {
      if (op.operatorOnly) {
        const { url, body } = requestFor(op, Object.fromEntries(op.pathParams.map((p) => [p.name, "x"])));
        expectError(await bob.call(op.method, url, body), 403, "FORBIDDEN");
        return;
      }
      const key = fixtureKeyFor(op);
      if (!key) throw new Error(`${op.id} has no isolation fixture (see the first test)`);
      const resource = resources.get(key);
      if (!resource) throw new Error(`fixture ${key} was not created`);
      const answer = FIXTURES[key]?.answers?.[op.id] ?? "not-found";

      const theirs = requestFor(op, resource.params);
      const missing = missingParams(resource.params);
      const nobody = requestFor(op, missing);
      const toBob = await bob.call(op.method, theirs.url, theirs.body);
      const toBobMissing = await bob.call(op.method, nobody.url, nobody.body);
      const sent = Object.values(resource.params);

      expect(toBob.statusCode, `Bob got ${toBob.statusCode}: ${toBob.body.slice(0, 200)}`).not.toBe(403);
      expect(leaked(toBob.body, sent), toBob.body.slice(0, 300)).toEqual([]);
      if (answer === "shared") {
        expect(toBob.statusCode, toBob.body.slice(0, 200)).toBeLessThan(500);
        return;
      }
      if (answer === "not-found") expectError(toBob, 404, "NOT_FOUND");
      // Indistinguishable from a resource that does not exist, apart from the ids echoed back.
      const normalise = (body: string, params: Record<string, string>) => {
        let text = body.replace(/"request_id":"[^"]*"/, "");
        for (const value of Object.values(params).sort((a, b) => b.length - a.length)) {
          text = text.split(value).join("<param>");
        }
        return text;
      };
      expect(toBob.statusCode).toBe(toBobMissing.statusCode);
      expect(normalise(toBob.body, resource.params)).toBe(normalise(toBobMissing.body, missing));
    },
  );

  it.each(lists.map((op) => [`${op.id} (${op.path})`, op] as const))(
    "Bob's %s never shows Alice's resources, whatever the filter",
    async (_name, op) => {
      if (op.operatorOnly) {
        expectError(await bob.call("GET", op.path), 403, "FORBIDDEN");
        return;
      }
      const ids = [...resources.entries()].flatMap(([prefix, r]) => {
        const kind =
          prefix
            .split("/")
            .filter((s) => s && !s.startsWith("{"))
            .at(-1) ?? "";
        const values = Object.values(r.params).filter((v) => !v.includes("/"));
        return [...values, ...values.map((v) => `${kind}:${v}`)];
      });
      const queries: Array<Record<string, string>> = [{}];
      const flags = op.queryParams.filter((p) => p.schema.type === "boolean");
      if (flags.length > 0) queries.push(Object.fromEntries(flags.map((p) => [p.name, "true"])));
      for (const p of op.queryParams.filter((q) => q.schema.type === "string" && !q.schema.enum)) {
        for (const id of ids) queries.push({ [p.name]: id });
      }
      for (const query of queries) {
        const search = new URLSearchParams(query).toString();
        const url = search ? `${op.path}?${search}` : op.path;
        const response = await bob.call("GET", url);
        expect(response.statusCode, `${url}: ${response.body.slice(0, 200)}`).toBeLessThan(500);
        expect(leaked(response.body, Object.values(query)), `${url}: ${response.body.slice(0, 300)}`).toEqual([]);
      }
    },
  );

  it("Bob's attempts changed nothing Alice sees", async () => {
    const after = await aliceViews();
    for (const [id, before] of aliceViewsBefore) expect(after.get(id), id).toBe(before);
  });

  it("settings are per user: Bob sees neither Alice's Vast key, her GCP credentials nor her preferences", async () => {
    // Accounts of their own: a stored Vast key would send Alice's market calls to Vast.
    const carol = callerFor(await registerAccount(inproc.app, "carol"));
    const dave = callerFor(await registerAccount(inproc.app, "dave"));
    const vastKey = "carol-vast-key-0123456789";
    const put = await carol.call("PUT", "/api/v1/settings", {
      vast_api_key: vastKey,
      settings: { theme: "carol-dark" },
    });
    expect(put.statusCode).toBe(200);
    const daveSettings = await dave.call("GET", "/api/v1/settings");
    expect(daveSettings.json()).toEqual({
      vast_api_key: { configured: false, hint: null },
      gcp_credentials: { configured: false, hint: null },
      settings: {},
    });
    expect(daveSettings.body).not.toContain(vastKey.slice(-4));
    const daveMe = await dave.call("GET", "/api/v1/auth/me");
    expect(daveMe.body).not.toContain("carol-dark");
    expect((await dave.call("PUT", "/api/v1/settings", { settings: { theme: "dave-light" } })).statusCode).toBe(200);
    expect((await carol.call("GET", "/api/v1/settings")).json()).toEqual({
      vast_api_key: { configured: true, hint: `…${vastKey.slice(-4)}` },
      gcp_credentials: { configured: false, hint: null },
      settings: { theme: "carol-dark" },
    });
  });

  it("after cleanup the market holds no machine of Alice's", async () => {
    for (const [prefix, resource] of resources) await FIXTURES[prefix]?.cleanup?.(alice, resource);
    const provider = await inproc.server.context.markets.providerFor(alice.account.userId);
    expect(await provider.listMachines("dumont")).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { bearer, startInProcessServer, testDialects, type InProcessServer } from "@dumont/testing";
import { expectError, type InjectedResponse } from "./helpers";

const dialects = await testDialects();

const PASSWORD = "correct horse battery";

interface Session {
  token: string;
  user: { id: string; email: string; role: string };
}

interface BalanceBody {
  account: string;
  credit: number | null;
  balance: number | null;
  email: string | null;
  spending: { spent_usd: number; cap_usd: number | null; remaining_usd: number | null } | null;
}

/**
 * Finding 10 of issue 8: open registration used to spend the operator's marketplace key. These
 * tests run on the real default policy (no DUMONT_REGISTRATION): the first account is the
 * operator, later ones need an invite, users cannot see the server account or pass their cap.
 */
describe.each(dialects)("roles, registration policy and spending caps (%s)", (dialect) => {
  let inproc: InProcessServer;
  let operator: Session;
  let user: Session;
  let counter = 0;

  const send = (options: {
    method: "GET" | "POST" | "PUT" | "DELETE";
    url: string;
    token?: string;
    payload?: unknown;
  }): Promise<InjectedResponse> =>
    inproc.app.inject({
      method: options.method,
      url: options.url,
      ...(options.token ? { headers: bearer(options.token) } : {}),
      ...(options.payload === undefined ? {} : { payload: options.payload as Record<string, unknown> }),
    });
  const register = (invite?: string) => {
    counter += 1;
    return send({
      method: "POST",
      url: "/api/v1/auth/register",
      payload: { email: `person${counter}@example.com`, password: PASSWORD, invite_code: invite },
    });
  };
  const createInvite = async () => {
    const response = await send({
      method: "POST",
      url: "/api/v1/admin/invites",
      token: operator.token,
      payload: { expires_in_hours: 1, note: "for a test" },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<{ id: string; code: string; state: string }>();
  };
  const machinesOnMarket = async () => {
    const account = inproc.server.context.markets.sharedAccounts()[0];
    if (!account) throw new Error("no shared market account");
    return (await account.provider.listMachines("dumont:")).length;
  };
  const setCap = (id: string, cap: number | null) =>
    send({
      method: "PUT",
      url: `/api/v1/admin/users/${id}/spend-cap`,
      token: operator.token,
      payload: { spend_cap_usd: cap },
    });
  const cheapestOffer = async (token: string) => {
    const response = await send({
      method: "GET",
      url: "/api/v1/instances/offers?max_price=3&limit=1&order=price",
      token,
    });
    expect(response.statusCode, response.body).toBe(200);
    const offer = response.json<{ offers: { id: string; dph_total: number }[] }>().offers[0];
    if (!offer) throw new Error("the simulated market has no offer");
    return offer;
  };
  const rent = (token: string, offerId: string) =>
    send({ method: "POST", url: "/api/v1/instances", token, payload: { offer_id: offerId, disk_size: 10 } });

  beforeAll(async () => {
    inproc = await startInProcessServer({
      dialect,
      // "" = unset: the real default policy, not the tests' usual open registration.
      env: {
        DUMONT_REGISTRATION: "",
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        DUMONT_INSTANCE_POLL_MS: "200",
      },
    });
  });
  afterAll(async () => {
    await inproc?.close();
  });

  it("the first account on an empty server is the operator, and `auth me` says so", async () => {
    const first = await register();
    expect(first.statusCode, first.body).toBe(201);
    operator = first.json<Session>();
    expect(operator.user.role).toBe("operator");
    const me = await send({ method: "GET", url: "/api/v1/auth/me", token: operator.token });
    expect(me.json<{ user: { role: string } }>().user.role).toBe("operator");
  });

  it("once an operator exists, registering without an invite is 403 REGISTRATION_CLOSED with a hint", async () => {
    const refused = await register();
    const error = expectError(refused, 403, "REGISTRATION_CLOSED");
    expect(error.hint).toMatch(/invite/);
    const forged = await register(`dmi_${"A".repeat(43)}`);
    expectError(forged, 403, "REGISTRATION_CLOSED");
  });

  it("an invite works once: the account is a user, the code cannot be used again", async () => {
    const invite = await createInvite();
    expect(invite.code).toMatch(/^dmi_/);
    const ok = await register(invite.code);
    expect(ok.statusCode, ok.body).toBe(201);
    user = ok.json<Session>();
    expect(user.user.role).toBe("user");
    const me = await send({ method: "GET", url: "/api/v1/auth/me", token: user.token });
    expect(me.json<{ user: { role: string } }>().user.role).toBe("user");

    expectError(await register(invite.code), 403, "REGISTRATION_CLOSED");
    const listed = await send({ method: "GET", url: "/api/v1/admin/invites", token: operator.token });
    const entry = listed.json<{ invites: { id: string; state: string; used_by: string | null }[] }>().invites;
    expect(entry.find((i) => i.id === invite.id)).toMatchObject({ state: "used", used_by: user.user.id });
    // Only the hash is stored: the code itself is in no listing.
    expect(listed.body).not.toContain(invite.code);
  });

  it("a revoked invite no longer works", async () => {
    const invite = await createInvite();
    const revoked = await send({ method: "DELETE", url: `/api/v1/admin/invites/${invite.id}`, token: operator.token });
    expect(revoked.statusCode).toBe(200);
    expectError(await register(invite.code), 403, "REGISTRATION_CLOSED");
  });

  it("a user gets 403 FORBIDDEN on every operator route, and nothing changes", async () => {
    const routes = [
      { method: "POST" as const, url: "/api/v1/admin/invites", payload: {} },
      { method: "GET" as const, url: "/api/v1/admin/invites" },
      { method: "DELETE" as const, url: "/api/v1/admin/invites/inv_x" },
      { method: "GET" as const, url: "/api/v1/admin/users" },
      { method: "PUT" as const, url: `/api/v1/admin/users/${user.user.id}/spend-cap`, payload: { spend_cap_usd: 1e6 } },
    ];
    for (const route of routes) {
      const response = await send({ ...route, token: user.token });
      expectError(response, 403, "FORBIDDEN");
      expect(response.body).not.toContain(operator.user.email);
    }
    const users = await send({ method: "GET", url: "/api/v1/admin/users", token: operator.token });
    const mine = users.json<{ users: { id: string; spend_cap_override_usd: number | null }[] }>().users;
    expect(mine.find((u) => u.id === user.user.id)?.spend_cap_override_usd).toBeNull();
  });

  it("the OpenAPI document marks every admin operation x-dumont-operator-only", async () => {
    const doc = (await send({ method: "GET", url: "/api/v1/openapi.json" })).json<{
      paths: Record<string, Record<string, { "x-dumont-operator-only"?: boolean }>>;
    }>();
    const admin = Object.entries(doc.paths).filter(([path]) => path.startsWith("/api/v1/admin/"));
    expect(admin.length).toBeGreaterThanOrEqual(4);
    for (const [path, methods] of admin) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(operation["x-dumont-operator-only"], `${method} ${path}`).toBe(true);
      }
    }
  });

  it("a user on the server's account sees their spending and cap, never its email or credit", async () => {
    const mine = await send({ method: "GET", url: "/api/v1/balance", token: user.token });
    expect(mine.statusCode, mine.body).toBe(200);
    const body = mine.json<BalanceBody>();
    expect(body).toMatchObject({ account: "server", credit: null, balance: null, email: null });
    expect(body.spending).toEqual({ spent_usd: 0, cap_usd: 10, remaining_usd: 10 });

    const operatorView = (
      await send({ method: "GET", url: "/api/v1/balance", token: operator.token })
    ).json<BalanceBody>();
    expect(operatorView.account).toBe("server");
    expect(typeof operatorView.credit).toBe("number");
    expect(operatorView.email).toMatch(/@/);
    expect(operatorView.spending?.cap_usd).toBeNull();
    expect(mine.body).not.toContain(operatorView.email ?? "no email");
  });

  it("a cap of 0 forbids renting on the server's account: 402, nothing rented", async () => {
    expect((await setCap(user.user.id, 0)).statusCode).toBe(200);
    const offer = await cheapestOffer(user.token);
    const before = await machinesOnMarket();
    const refused = await rent(user.token, offer.id);
    const error = expectError(refused, 402, "SPENDING_CAP_REACHED");
    expect(error.message).toMatch(/\$0/);
    expect(error.hint).toMatch(/operator/);
    const deploy = await send({ method: "POST", url: "/api/v1/wizard/deploy", token: user.token, payload: {} });
    expectError(deploy, 402, "SPENDING_CAP_REACHED");
    const job = await send({
      method: "POST",
      url: "/api/v1/jobs",
      token: user.token,
      payload: { name: "refused", command: "true" },
    });
    expectError(job, 402, "SPENDING_CAP_REACHED");
    const instances = await send({ method: "GET", url: "/api/v1/instances", token: user.token });
    expect(instances.json<{ count: number }>().count).toBe(0);
    expect(await machinesOnMarket()).toBe(before);
  });

  it("a race whose next machine would pass the cap rents nothing and fails saying so", async () => {
    const offer = await cheapestOffer(user.token);
    // Spend is 0, so the deploy is accepted; one hour of the cheapest machine passes the cap.
    expect((await setCap(user.user.id, offer.dph_total / 10)).statusCode).toBe(200);
    const before = await machinesOnMarket();
    const deploy = await send({
      method: "POST",
      url: "/api/v1/wizard/deploy",
      token: user.token,
      payload: { max_price: 3, speed: "any", region: "global" },
    });
    expect(deploy.statusCode, deploy.body).toBe(201);
    const { id } = deploy.json<{ id: string }>();
    let status = "";
    let body: { status: string; error: string | null; candidates: unknown[] } = {
      status: "",
      error: null,
      candidates: [],
    };
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && status !== "failed"; await sleep(100)) {
      body = (await send({ method: "GET", url: `/api/v1/wizard/deployments/${id}`, token: user.token })).json();
      status = body.status;
    }
    expect(status).toBe("failed");
    expect(body.error).toMatch(/SPENDING_CAP_REACHED/);
    expect(body.candidates).toEqual([]);
    expect(await machinesOnMarket()).toBe(before);
  });

  const spentNow = async () =>
    (await send({ method: "GET", url: "/api/v1/balance", token: user.token })).json<BalanceBody>().spending
      ?.spent_usd ?? 0;
  const liveInstances = async () =>
    (await send({ method: "GET", url: "/api/v1/instances", token: user.token })).json<{
      instances: { id: string; status: string }[];
    }>().instances;
  const deleteAll = async () => {
    for (const instance of await liveInstances()) {
      await send({ method: "DELETE", url: `/api/v1/instances/${instance.id}`, token: user.token });
    }
    for (const deadline = Date.now() + 30_000; (await liveInstances()).length > 0; await sleep(200)) {
      if (Date.now() > deadline) throw new Error("instances were not destroyed");
    }
  };

  it("a burst of rentals cannot outrun the cap: live machines count for their next hour", async () => {
    const offer = await cheapestOffer(user.token);
    // Room for two hours of this machine on top of what was spent so far.
    expect((await setCap(user.user.id, (await spentNow()) + offer.dph_total * 2.5)).statusCode).toBe(200);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => rent(user.token, offer.id)));
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes).toEqual([201, 201, 402, 402, 402]);
    for (const refused of answers.filter((a) => a.statusCode === 402)) {
      const error = expectError(refused, 402, "SPENDING_CAP_REACHED");
      expect(error.message).toMatch(/live machine/);
    }
    expect((await liveInstances()).length).toBeLessThanOrEqual(2);
    await deleteAll();
  });

  it("past the cap a rental is refused with the spend and the cap; raising the cap lets it through", async () => {
    const offer = await cheapestOffer(user.token);
    // One hour of this machine fits: the first rental is admitted, a second would not fit.
    expect((await setCap(user.user.id, (await spentNow()) + offer.dph_total * 1.5)).statusCode).toBe(200);
    const first = await rent(user.token, offer.id);
    expect(first.statusCode, first.body).toBe(201);
    const firstId = first.json<{ id: string }>().id;
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      const got = await send({ method: "GET", url: `/api/v1/instances/${firstId}`, token: user.token });
      if (got.json<{ machine_id: string | null }>().machine_id !== null) break;
      if (Date.now() > deadline) throw new Error("the first rental never reached the market");
    }
    const others = await send({
      method: "GET",
      url: "/api/v1/instances/offers?max_price=3&limit=5&order=price",
      token: user.token,
    });
    const second = others.json<{ offers: { id: string }[] }>().offers.find((o) => o.id !== offer.id);
    if (!second) throw new Error("the simulated market has no second offer");
    const machines = await machinesOnMarket();
    expectError(await rent(user.token, second.id), 402, "SPENDING_CAP_REACHED");

    // The operator lowers the cap below what is spent: the spend itself is now past the cap.
    const cap = (await spentNow()) + (offer.dph_total * 1) / 3600;
    expect((await setCap(user.user.id, cap)).statusCode).toBe(200);
    for (const deadline = Date.now() + 30_000; (await spentNow()) <= cap; await sleep(200)) {
      if (Date.now() > deadline) throw new Error("spend never passed the cap");
    }
    const refused = await rent(user.token, second.id);
    const error = expectError(refused, 402, "SPENDING_CAP_REACHED");
    expect(error.message).toMatch(/you have spent \$[\d.]+ of your \$[\d.]+ cap/);
    expect(error.details).toMatchObject({ cap_usd: cap });
    expect(error.hint).toMatch(/already running keep running/);
    expect(await machinesOnMarket()).toBe(machines);
    const listed = await liveInstances();
    expect(listed.length).toBe(1);
    // The machine already running is not destroyed by the cap.
    expect(listed[0]?.status).not.toMatch(/destroy|failed/);

    const raised = await setCap(user.user.id, 100);
    expect(raised.json<{ spending: { cap_usd: number } }>().spending.cap_usd).toBe(100);
    const admitted = await rent(user.token, second.id);
    expect(admitted.statusCode, admitted.body).toBe(201);

    const users = (await send({ method: "GET", url: "/api/v1/admin/users", token: operator.token })).json<{
      users: { id: string; spending: { spent_usd: number } }[];
    }>().users;
    expect(users.find((u) => u.id === user.user.id)?.spending.spent_usd).toBeGreaterThan(cap);
    await deleteAll();
  });

  it("five registrations racing on an empty server make exactly one operator", async () => {
    const fresh = await startInProcessServer({
      dialect,
      startControllers: false,
      env: { DUMONT_REGISTRATION: "open", DUMONT_MARKET: "off" },
    });
    try {
      const answers = await Promise.all(
        [1, 2, 3, 4, 5].map((n) =>
          fresh.app.inject({
            method: "POST",
            url: "/api/v1/auth/register",
            payload: { email: `racer${n}@example.com`, password: PASSWORD },
          }),
        ),
      );
      expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 201, 201]);
      const roles = answers.map((a) => a.json<Session>().user.role).sort();
      expect(roles).toEqual(["operator", "user", "user", "user", "user"]);
    } finally {
      await fresh.close();
    }
  });

  it("with DUMONT_REGISTRATION=closed nobody registers, not even with an invite", async () => {
    const closed = await startInProcessServer({
      dialect,
      startControllers: false,
      env: { DUMONT_REGISTRATION: "closed", DUMONT_MARKET: "off" },
    });
    try {
      const response = await closed.app.inject({
        method: "POST",
        url: "/api/v1/auth/register",
        payload: { email: "first@example.com", password: PASSWORD, invite_code: `dmi_${"B".repeat(43)}` },
      });
      const error = expectError(response, 403, "REGISTRATION_CLOSED");
      expect(error.hint).toMatch(/dumont admin create/);
    } finally {
      await closed.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { sshExec } from "@dumont/providers";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface InstanceBody {
  id: string;
  status: string;
  machine_id: string | null;
  ssh_command: string | null;
  simulated: boolean;
  error: string | null;
  gpu_name: string;
}

/**
 * Instances end to end on the embedded (simulated) marketplace: offers, rent, boot until SSH
 * answers, pause, resume, delete — and the marketplace confirms nothing is left rented.
 */
describe("instances on the embedded marketplace", () => {
  let server: InProcessServer;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    server = await startInProcessServer({
      env: { DUMONT_MARKET: "embedded", DUMONT_MARKET_TIME_SCALE: "0.02", DUMONT_INSTANCE_POLL_MS: "200" },
    });
    alice = await registerAccount(server.app, "alice");
    bob = await registerAccount(server.app, "bob");
  });
  afterAll(async () => {
    await server.close();
  });

  const get = async (account: Account, url: string) =>
    server.app.inject({ method: "GET", url, headers: bearer(account.token) });
  const waitFor = async (id: string, statuses: string[], timeoutMs = 30_000): Promise<InstanceBody> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const body = (await get(alice, `/api/v1/instances/${id}`)).json<InstanceBody>();
      if (statuses.includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`instance ${id} stuck in ${body.status}: ${body.error ?? ""}`);
      await sleep(100);
    }
  };

  it("says plainly that the market is simulated, and applies the test preset", async () => {
    const response = await get(alice, "/api/v1/instances/offers?preset=test&limit=10");
    expect(response.statusCode).toBe(200);
    const body = response.json<{
      offers: { dph_total: number; reliability: number; geolocation: string }[];
      market: { simulated: boolean; note: string };
    }>();
    expect(body.market.simulated).toBe(true);
    expect(body.market.note).toMatch(/SIMULATED/);
    for (const offer of body.offers) {
      expect(offer.dph_total).toBeLessThan(0.1);
      expect(offer.reliability).toBeGreaterThanOrEqual(0.9);
      expect(offer.geolocation).toMatch(
        /(US|CA|BR|DE|FR|FI|SE|NL|GB|PL|BG|HU|RO|HR|IS|ES|IT|NO|CZ|AT|BE|PT|IE|DK|CH)$/,
      );
    }
    const bad = await get(alice, "/api/v1/instances/offers?region=Atlantis");
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe("VALIDATION_FAILED");
  });

  it("rents, boots to SSH-ready, pauses, resumes and destroys", async () => {
    const offers = (await get(alice, "/api/v1/instances/offers?max_price=3&limit=5")).json<{
      offers: { id: string }[];
    }>();
    const offerId = offers.offers[0]?.id ?? "";
    const created = await server.app.inject({
      method: "POST",
      url: "/api/v1/instances",
      headers: bearer(alice.token),
      payload: { offer_id: offerId, disk_size: 10 },
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<InstanceBody>();

    const running = await waitFor(id, ["running", "failed"]);
    expect(running).toMatchObject({ status: "running", simulated: true });
    expect(running.ssh_command).toMatch(/^ssh -p \d+ root@127\.0\.0\.1$/);
    expect((await get(bob, `/api/v1/instances/${id}`)).statusCode).toBe(404);

    const model = await server.app.inject({
      method: "POST",
      url: `/api/v1/instances/${id}/models`,
      headers: bearer(alice.token),
      payload: { model: "qwen2.5:0.5b" },
    });
    expect(model.statusCode).toBe(200);
    expect(model.json()).toMatchObject({ success: true, model: "qwen2.5:0.5b" });
    expect(model.json<{ output: string }>().output).toContain("success");
    const hostile = await server.app.inject({
      method: "POST",
      url: `/api/v1/instances/${id}/models`,
      headers: bearer(alice.token),
      payload: { model: "x; touch /tmp/pwned" },
    });
    expect(hostile.json<{ error: { code: string } }>().error.code).toBe("VALIDATION_FAILED");

    const paused = await server.app.inject({
      method: "POST",
      url: `/api/v1/instances/${id}/pause`,
      headers: bearer(alice.token),
    });
    expect(paused.json<InstanceBody>().status).toBe("pausing");
    await waitFor(id, ["paused"]);
    const bad = await server.app.inject({
      method: "POST",
      url: `/api/v1/instances/${id}/pause`,
      headers: bearer(alice.token),
    });
    expect(bad.json<{ error: { code: string } }>().error.code).toBe("INVALID_TRANSITION");

    await server.app.inject({ method: "POST", url: `/api/v1/instances/${id}/resume`, headers: bearer(alice.token) });
    await waitFor(id, ["running"]);

    const deleted = await server.app.inject({
      method: "DELETE",
      url: `/api/v1/instances/${id}`,
      headers: bearer(alice.token),
    });
    expect(deleted.json<InstanceBody>().status).toBe("destroying");
    const gone = await waitFor(id, ["destroyed"]);
    const provider = await server.server.context.markets.providerFor(alice.userId);
    expect(await provider.getMachine(gone.machine_id ?? "")).toBeUndefined();

    const { body } = await get(alice, `/api/v1/events?resource=${id}`);
    const statuses = (JSON.parse(body) as { events: { to_status: string }[] }).events.map((e) => e.to_status);
    expect(statuses).toEqual([
      "creating",
      "booting",
      "running",
      "pausing",
      "paused",
      "resuming",
      "booting",
      "running",
      "destroying",
      "destroyed",
    ]);
  });

  it("seals an instance's env at rest and still hands it to the machine", async () => {
    const offers = (await get(alice, "/api/v1/instances/offers?max_price=3&limit=5")).json<{
      offers: { id: string }[];
    }>();
    const created = await server.app.inject({
      method: "POST",
      url: "/api/v1/instances",
      headers: bearer(alice.token),
      payload: {
        offer_id: offers.offers[1]?.id ?? "",
        disk_size: 10,
        env: { API_SECRET: "plain-text-must-not-be-stored" },
      },
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<InstanceBody>();
    await waitFor(id, ["running"]);
    const row = await server.server.context.repos.instances.findById(id);
    expect(JSON.stringify(row)).not.toContain("plain-text-must-not-be-stored");
    const key = await server.server.context.sshKeys.controlKey(alice.userId);
    const echoed = await sshExec({
      endpoint: { host: row?.ssh_host ?? "", port: row?.ssh_port ?? 0, user: "root" },
      privateKey: key.privateKey,
      command: 'printf %s "$API_SECRET"',
    });
    expect(echoed.stdout).toBe("plain-text-must-not-be-stored");
    await server.app.inject({ method: "DELETE", url: `/api/v1/instances/${id}`, headers: bearer(alice.token) });
    await waitFor(id, ["destroyed"]);
  });

  it("registers user SSH keys and rejects private keys or garbage", async () => {
    const ok = await server.app.inject({
      method: "POST",
      url: "/api/v1/ssh-keys",
      headers: bearer(alice.token),
      payload: {
        name: "laptop",
        public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop",
      },
    });
    expect(ok.statusCode).toBe(201);
    const garbage = await server.app.inject({
      method: "POST",
      url: "/api/v1/ssh-keys",
      headers: bearer(alice.token),
      payload: { name: "x", public_key: "not a key at all, clearly not" },
    });
    expect(garbage.json<{ error: { code: string } }>().error.code).toBe("VALIDATION_FAILED");
    const listed = (await get(alice, "/api/v1/ssh-keys")).json<{ count: number }>();
    expect(listed.count).toBe(1);
    expect((await get(bob, "/api/v1/ssh-keys")).json<{ count: number }>().count).toBe(0);
  });

  it("reports the simulated balance", async () => {
    const response = await get(alice, "/api/v1/balance");
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ provider: "vast.ai", simulated: true });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface DeploymentBody {
  id: string;
  status: string;
  winner_instance_id: string | null;
  ssh_command: string | null;
  error: string | null;
  candidates: { instance_id: string; offer_id: string; host_id: string | null; status: string }[];
}

const FINAL = ["completed", "failed", "cancelled"];

async function waitDeployment(
  app: FastifyInstance,
  account: Account,
  id: string,
  until: { statuses?: string[]; timeoutMs?: number } = {},
): Promise<DeploymentBody> {
  const statuses = until.statuses ?? FINAL;
  const timeoutMs = until.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (
      await app.inject({ method: "GET", url: `/api/v1/wizard/deployments/${id}`, headers: bearer(account.token) })
    ).json<DeploymentBody>();
    if (statuses.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} stuck in ${body.status}`);
    await sleep(100);
  }
}

async function deploy(app: FastifyInstance, account: Account, payload: Record<string, unknown>): Promise<string> {
  const response = await app.inject({
    method: "POST",
    url: "/api/v1/wizard/deploy",
    headers: bearer(account.token),
    payload,
  });
  if (response.statusCode !== 201) throw new Error(`deploy failed: ${response.body}`);
  return response.json<{ id: string }>().id;
}

/** The race on the flaky simulated market (about 30 % of hosts fail their boots). */
describe("deploy wizard on a flaky market", () => {
  let server: InProcessServer;
  let user: Account;

  beforeAll(async () => {
    server = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_PROFILE: "flaky",
        DUMONT_MARKET_SEED: "11",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        DUMONT_INSTANCE_POLL_MS: "150",
        DUMONT_CONTROLLER_CONCURRENCY: "64",
      },
    });
    user = await registerAccount(server.app, "wizard");
  });
  afterAll(async () => {
    await server.close();
  });

  const liveMachines = async () => {
    const provider = await server.server.context.markets.providerFor(user.userId);
    return provider.listMachines("dumont:");
  };

  it("wins with a verified machine and destroys every loser", async () => {
    const id = await deploy(server.app, user, { speed: "any", max_price: 3, disk_size: 10, batch_timeout_seconds: 3 });
    const done = await waitDeployment(server.app, user, id);
    expect(done.status).toBe("completed");
    expect(done.ssh_command).toMatch(/^ssh -p \d+ root@/);
    const losers = done.candidates.filter((c) => c.instance_id !== done.winner_instance_id);
    expect(losers.every((c) => c.status === "destroyed" || c.status === "failed")).toBe(true);
    const winner = done.candidates.find((c) => c.instance_id === done.winner_instance_id);
    expect(winner?.status).toBe("running");
    const machines = await liveMachines();
    const installation = server.server.context.installationId;
    expect(machines.map((m) => m.label)).toEqual([`dumont:${installation}:${done.winner_instance_id ?? ""}`]);
    await server.app.inject({
      method: "DELETE",
      url: `/api/v1/instances/${done.winner_instance_id ?? ""}`,
      headers: bearer(user.token),
    });
  });

  it("never rents one offer twice when five wizards race for the same offers", async () => {
    // Few offers (one GPU model, low price cap) so the five races must compete for them.
    const { offers } = (
      await server.app.inject({
        method: "GET",
        url: "/api/v1/instances/offers?max_price=3&limit=200",
        headers: bearer(user.token),
      })
    ).json<{ offers: { gpu_name: string }[] }>();
    const counts = new Map<string, number>();
    for (const o of offers) counts.set(o.gpu_name, (counts.get(o.gpu_name) ?? 0) + 1);
    const gpu =
      [...counts.entries()].sort((a, b) => b[1] - a[1]).find(([, n]) => n >= 4 && n <= 40)?.[0] ?? offers[0]?.gpu_name;
    const ids = await Promise.all(
      Array.from({ length: 5 }, () =>
        deploy(server.app, user, {
          gpu_name: gpu,
          speed: "any",
          max_price: 3,
          disk_size: 10,
          batch_size: 4,
          max_batches: 2,
          batch_timeout_seconds: 2,
        }),
      ),
    );
    const results = await Promise.all(ids.map((id) => waitDeployment(server.app, user, id, { timeoutMs: 90_000 })));
    // Each offer was held by at most one live candidate at any moment.
    const rows = await server.server.context.database.db
      .selectFrom("instances")
      .select(["offer_id", "created_at", "updated_at", "status", "deployment_id"])
      .where("deployment_id", "in", ids)
      .execute();
    const byOffer = new Map<string, { start: number; end: number }[]>();
    for (const row of rows) {
      const end = row.status === "destroyed" || row.status === "failed" ? row.updated_at : Number.MAX_SAFE_INTEGER;
      byOffer.set(row.offer_id, [...(byOffer.get(row.offer_id) ?? []), { start: row.created_at, end }]);
    }
    for (const [offer, spans] of byOffer) {
      spans.sort((a, b) => a.start - b.start);
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i]?.start ?? 0, `offer ${offer} rented twice at once`).toBeGreaterThanOrEqual(
          spans[i - 1]?.end ?? 0,
        );
      }
    }
    expect(results.filter((r) => r.status === "completed").length).toBeGreaterThan(0);
    for (const r of results) {
      if (r.winner_instance_id && r.status === "completed") {
        await server.app.inject({
          method: "DELETE",
          url: `/api/v1/instances/${r.winner_instance_id}`,
          headers: bearer(user.token),
        });
      }
    }
  });

  it("cancel destroys every machine it rented", async () => {
    const id = await deploy(server.app, user, { speed: "any", max_price: 3, disk_size: 10, batch_timeout_seconds: 60 });
    await waitDeployment(server.app, user, id, { statuses: ["waiting"] });
    const cancelled = await server.app.inject({
      method: "POST",
      url: `/api/v1/wizard/deployments/${id}/cancel`,
      headers: bearer(user.token),
    });
    expect(cancelled.statusCode).toBe(200);
    const done = await waitDeployment(server.app, user, id);
    expect(done.status).toBe("cancelled");
    expect(done.candidates.every((c) => c.status === "destroyed" || c.status === "failed")).toBe(true);
    const labels = (await liveMachines()).map((m) => m.label);
    const installation = server.server.context.installationId;
    for (const c of done.candidates) expect(labels).not.toContain(`dumont:${installation}:${c.instance_id}`);
  });

  it("blacklists a host after three failed boots, and the next wizard leaves it out", async () => {
    // Earlier tests' winners may still be being destroyed; their hosts' offers would be taken.
    for (let i = 0; i < 200 && (await liveMachines()).length > 0; i++) await sleep(100);
    const { offers } = (
      await server.app.inject({
        method: "GET",
        url: "/api/v1/instances/offers?max_price=3&limit=50",
        headers: bearer(user.token),
      })
    ).json<{ offers: { id: string; machine_id: string; num_gpus: number }[] }>();
    const target = offers[0];
    if (!target) throw new Error("no offer");
    const market = server.server.context.markets.embedded;
    if (!market) throw new Error("no embedded market");
    const sim = await fetch(`${market.url}/sim/hosts/${target.machine_id}/boot-failure`, {
      method: "POST",
      headers: { authorization: `Bearer ${market.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ probability: 1 }),
    });
    expect(sim.status).toBeLessThan(300);
    // Rent that host's offer until three boots have failed on it (a rent refused because the
    // offer is momentarily taken never reaches the host, so it does not count).
    let bootFailures = 0;
    for (let tries = 0; tries < 10 && bootFailures < 3; tries++) {
      const created = await server.app.inject({
        method: "POST",
        url: "/api/v1/instances",
        headers: bearer(user.token),
        payload: { offer_id: target.id, disk_size: 10 },
      });
      const instanceId = created.json<{ id: string }>().id;
      let final = { status: "", error: "" as string | null };
      for (let t = 0; t < 600 && !["failed", "destroyed"].includes(final.status); t++) {
        final = (
          await server.app.inject({
            method: "GET",
            url: `/api/v1/instances/${instanceId}`,
            headers: bearer(user.token),
          })
        ).json<{ status: string; error: string | null }>();
        if (!["failed", "destroyed"].includes(final.status)) await sleep(100);
      }
      expect(final.status, `attempt on the failing host: ${final.error ?? ""}`).toBe("failed");
      if (final.error?.includes("boot failed")) bootFailures += 1;
      else await sleep(500);
    }
    expect(bootFailures).toBe(3);
    const check = (
      await server.app.inject({
        method: "GET",
        url: `/api/v1/machines/history/blacklist/check/vast.ai/${target.machine_id}`,
        headers: bearer(user.token),
      })
    ).json<{ is_blacklisted: boolean; info: { blacklist_type: string } | null }>();
    expect(check).toMatchObject({ is_blacklisted: true, info: { blacklist_type: "auto" } });

    const after = (
      await server.app.inject({
        method: "GET",
        url: "/api/v1/instances/offers?max_price=3&limit=200",
        headers: bearer(user.token),
      })
    ).json<{ offers: { machine_id: string }[] }>();
    expect(after.offers.map((o) => o.machine_id)).not.toContain(target.machine_id);
    const id = await deploy(server.app, user, { speed: "any", max_price: 3, disk_size: 10, batch_timeout_seconds: 3 });
    const done = await waitDeployment(server.app, user, id);
    expect(done.candidates.map((c) => c.host_id)).not.toContain(target.machine_id);
    if (done.winner_instance_id) {
      await server.app.inject({
        method: "DELETE",
        url: `/api/v1/instances/${done.winner_instance_id}`,
        headers: bearer(user.token),
      });
    }
  });
});

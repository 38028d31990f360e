import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface EventRow {
  resource_id: string;
  to_status: string;
  created_at: number;
}

/**
 * Rows that wait on other rows are told when those change instead of finding out at their next
 * poll. Every poll here is 10–30 s, so anything that waited for one would take that long; the
 * assertions allow a few seconds for a loaded machine.
 */
describe("time to ready: dependent rows are woken, not polled", () => {
  let server: InProcessServer;
  let user: Account;

  beforeAll(async () => {
    server = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        // The runner, the instances (and so the deployments) and the jobs all poll slowly.
        DUMONT_POLL_MS: "10000",
        DUMONT_INSTANCE_POLL_MS: "10000",
        DUMONT_INSTANCE_IDLE_POLL_MS: "30000",
        DUMONT_JOB_POLL_MS: "30000",
        DUMONT_CONTROLLER_CONCURRENCY: "64",
      },
    });
    user = await registerAccount(server.app, "ttr");
  });
  afterAll(async () => {
    await server.close();
  });

  const events = async (ids: string[]): Promise<EventRow[]> =>
    server.server.context.database.db
      .selectFrom("events")
      .select(["resource_id", "to_status", "created_at"])
      .where("resource_id", "in", ids)
      .orderBy("id")
      .execute();
  const at = (rows: EventRow[], id: string, status: string): number => {
    const row = rows.find((e) => e.resource_id === id && e.to_status === status);
    if (!row) throw new Error(`${id} never reached ${status}`);
    return row.created_at;
  };
  const waitUntil = async <T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
      await sleep(100);
    }
  };

  it("declares the winner when it answers SSH, and completes when the last loser is confirmed gone", async () => {
    const created = await server.app.inject({
      method: "POST",
      url: "/api/v1/wizard/deploy",
      headers: bearer(user.token),
      payload: { strategy: "race", speed: "any", max_price: 3, disk_size: 10, batch_size: 3, max_batches: 1 },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    const deployment = await waitUntil(
      async () =>
        (
          await server.app.inject({
            method: "GET",
            url: `/api/v1/wizard/deployments/${id}`,
            headers: bearer(user.token),
          })
        ).json<{ status: string; winner_instance_id: string | null; candidates: { instance_id: string }[] }>(),
      (d) => ["completed", "failed", "cancelled"].includes(d.status),
    );
    expect(deployment.status).toBe("completed");
    const winner = deployment.winner_instance_id ?? "";
    const losers = deployment.candidates.map((c) => c.instance_id).filter((c) => c !== winner);
    expect(losers.length).toBeGreaterThan(0);
    const log = await events([id, winner, ...losers]);

    // A first boot is polled at a fraction of the 10 s interval, and the runner wakes for it rather
    // than at its own 10 s poll: the market boots these in about a second.
    expect(at(log, winner, "running") - at(log, winner, "booting")).toBeLessThan(8000);
    // The winner is declared from its boot probe's facts, within moments of answering SSH.
    expect(at(log, id, "ready") - at(log, winner, "running")).toBeLessThan(3000);
    const row = await server.server.context.repos.instances.findById(winner);
    expect(row?.probed_gpus).toBe(row?.num_gpus);
    expect(row?.probed_disk_kb ?? 0).toBeGreaterThan(0);
    // `ready` lasts while the losers go; `completed` follows the last one's confirmed destruction.
    const lastLoserGone = Math.max(
      ...losers.map(
        (l) =>
          log.find((e) => e.resource_id === l && ["destroyed", "failed"].includes(e.to_status))?.created_at ?? Infinity,
      ),
    );
    expect(at(log, id, "completed")).toBeGreaterThanOrEqual(lastLoserGone);
    expect(at(log, id, "completed") - lastLoserGone).toBeLessThan(3000);
    await server.app.inject({ method: "DELETE", url: `/api/v1/instances/${winner}`, headers: bearer(user.token) });
  }, 120_000);

  it("sets a job up as soon as its race completes", async () => {
    const created = await server.app.inject({
      method: "POST",
      url: "/api/v1/jobs",
      headers: bearer(user.token),
      payload: { name: "woken", command: "echo ok", max_price: 3, disk_size: 10 },
    });
    expect(created.statusCode).toBe(201);
    const jobId = created.json<{ id: string }>().id;
    const job = await waitUntil(
      async () =>
        (await server.app.inject({ method: "GET", url: `/api/v1/jobs/${jobId}`, headers: bearer(user.token) })).json<{
          status: string;
          deployment_id: string | null;
        }>(),
      (j) => !["pending", "provisioning"].includes(j.status),
    );
    expect(job.deployment_id).not.toBeNull();
    const log = await events([jobId, job.deployment_id ?? ""]);
    expect(at(log, jobId, "setting_up") - at(log, job.deployment_id ?? "", "completed")).toBeLessThan(3000);
    await server.app.inject({ method: "POST", url: `/api/v1/jobs/${jobId}/cancel`, headers: bearer(user.token) });
    await waitUntil(
      async () =>
        (await server.app.inject({ method: "GET", url: `/api/v1/jobs/${jobId}`, headers: bearer(user.token) })).json<{
          status: string;
        }>(),
      (j) => ["completed", "failed", "cancelled", "timed_out"].includes(j.status),
    );
  }, 120_000);
});

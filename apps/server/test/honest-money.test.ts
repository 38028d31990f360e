import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  testDialects,
  type Account,
  type InProcessServer,
} from "@dumont/testing";

interface Offer {
  id: string;
  machine_id: string;
  dph_total: number;
  priced_disk_gb: number | null;
  storage_cost: number | null;
}

interface Instance {
  id: string;
  status: string;
  gpu_name: string;
  num_gpus: number;
  dph_total: number;
  simulated: boolean;
  uptime_seconds: number | null;
  cost_usd: number;
  error: string | null;
}

interface Candidate {
  instance_id: string;
  host_id: string | null;
  status: string;
  dph_total: number;
  seconds: number | null;
  cost_usd: number;
}

interface Deployment {
  id: string;
  status: string;
  winner_instance_id: string | null;
  candidates: Candidate[];
  total_cost_usd: number;
  simulated: boolean;
}

interface JobMachine {
  attempt: number;
  instance_id: string;
  deployment_id: string | null;
  role: string;
  status: string;
  seconds: number | null;
  dph_total: number;
  cost_usd: number;
}

interface Job {
  id: string;
  status: string;
  deployment_id: string | null;
  error_message: string | null;
  total_cost: number;
  simulated: boolean;
  machines: JobMachine[];
}

interface Attempt {
  instance_id: string | null;
  machine_id: string;
  success: boolean;
  outcome: string;
  failure_stage: string | null;
}

const ENDED = ["destroyed", "failed"];
const dialects = await testDialects();

/**
 * Honest money and labels through the API: offer prices are what the machine bills for its disk,
 * a fresh instance shows no made-up zeros, a job costs every machine rented for it (race losers
 * included), and history records a loser destroyed before ready as abandoned, not as a failure.
 */
describe.each(dialects)("honest prices, costs and history (%s)", (dialect) => {
  let server: InProcessServer;
  let user: Account;

  beforeAll(async () => {
    server = await startInProcessServer({
      dialect,
      env: {
        DUMONT_MARKET: "embedded",
        // Boots take 1–9 s here (each host its own median): the first ready candidate wins
        // while slower ones are still booting, so a race has losers destroyed before ready.
        DUMONT_MARKET_TIME_SCALE: "0.05",
        DUMONT_INSTANCE_POLL_MS: "150",
        DUMONT_INSTANCE_IDLE_POLL_MS: "400",
        DUMONT_JOB_POLL_MS: "300",
        DUMONT_CONTROLLER_CONCURRENCY: "64",
      },
    });
    user = await registerAccount(server.app, "money");
  });
  afterAll(async () => {
    await server.close();
  });

  const call = async <T>(method: "GET" | "POST" | "DELETE", url: string, payload?: object) => {
    const response = await server.app.inject({ method, url, headers: bearer(user.token), payload });
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json<T>();
  };
  const until = async <T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value).slice(0, 400)}`);
      await sleep(150);
    }
  };
  const attempts = async () =>
    (await call<{ attempts: Attempt[] }>("GET", "/api/v1/machines/history/attempts?limit=500")).attempts;

  it("prices an offer for the disk that will be rented, and a new instance bills at that price from the start", async () => {
    const at10 = (await call<{ offers: Offer[] }>("GET", "/api/v1/instances/offers?max_price=3&limit=5&disk_size=10"))
      .offers;
    const offer = at10[0];
    expect(offer).toBeDefined();
    if (!offer) return;
    expect(offer.priced_disk_gb).toBe(10);
    expect(offer.storage_cost).toBeGreaterThan(0);
    // The same offer with a bigger disk costs exactly the extra storage (vast-api.md: GB × storage_cost ÷ 720).
    const at200 = (
      await call<{ offers: Offer[] }>("GET", "/api/v1/instances/offers?max_price=30&limit=500&disk_size=200")
    ).offers.find((o) => o.id === offer.id);
    expect(at200?.dph_total).toBeCloseTo(offer.dph_total + (190 * (offer.storage_cost ?? 0)) / 720, 5);

    const fresh = await call<Instance>("POST", "/api/v1/instances", { offer_id: offer.id, disk_size: 10 });
    expect(fresh.status).toBe("creating");
    expect(fresh.simulated).toBe(true);
    // No made-up facts: the GPU and the price come from the offer; nothing is billed before the create call.
    expect(fresh.gpu_name).not.toBe("pending");
    expect(fresh.num_gpus).toBeGreaterThan(0);
    expect(fresh.dph_total).toBeCloseTo(offer.dph_total, 6);
    expect(fresh.uptime_seconds).toBeNull();
    expect(fresh.cost_usd).toBe(0);

    const running = await until(
      () => call<Instance>("GET", `/api/v1/instances/${fresh.id}`),
      (i) => i.status === "running" || ENDED.includes(i.status),
    );
    expect(running.status).toBe("running");
    // What the marketplace bills the machine for its 10 GB is what the offer said.
    expect(running.dph_total).toBeCloseTo(offer.dph_total, 5);
    expect(running.uptime_seconds).toBeGreaterThan(0);
    expect(running.cost_usd).toBeGreaterThan(0);
    const listed = (await call<{ instances: Instance[] }>("GET", "/api/v1/instances")).instances.find(
      (i) => i.id === fresh.id,
    );
    expect(listed?.simulated).toBe(true);
    expect(listed?.cost_usd).toBeGreaterThan(0);

    await call("DELETE", `/api/v1/instances/${fresh.id}`);
    const gone = await until(
      () => call<Instance>("GET", `/api/v1/instances/${fresh.id}`),
      (i) => ENDED.includes(i.status),
    );
    // After the confirmed destroy the bill stops growing.
    await sleep(300);
    const later = await call<Instance>("GET", `/api/v1/instances/${fresh.id}`);
    expect(later.cost_usd).toBe(gone.cost_usd);
    expect(later.uptime_seconds).toBe(gone.uptime_seconds);
  });

  it("records every rented candidate of a race: losers destroyed before ready are abandoned, not failures", async () => {
    const before = await attempts();
    const { id } = await call<{ id: string }>("POST", "/api/v1/wizard/deploy", {
      speed: "any",
      max_price: 3,
      disk_size: 10,
      batch_size: 5,
      max_batches: 1,
    });
    const done = await until(
      () => call<Deployment>("GET", `/api/v1/wizard/deployments/${id}`),
      (d) => ["completed", "failed", "cancelled"].includes(d.status),
    );
    expect(done.status).toBe("completed");
    expect(done.simulated).toBe(true);
    const losers = done.candidates.filter((c) => c.instance_id !== done.winner_instance_id);
    expect(losers.length).toBeGreaterThanOrEqual(2);
    // Each candidate is billed from its create call to its confirmed destroy, at its own price.
    for (const c of done.candidates) expect(c.cost_usd).toBeGreaterThan(0);
    expect(done.total_cost_usd).toBeCloseTo(
      done.candidates.reduce((sum, c) => sum + c.cost_usd, 0),
      6,
    );

    const mine = (await attempts()).filter(
      (a) => a.instance_id !== null && done.candidates.some((c) => c.instance_id === a.instance_id),
    );
    expect(before.filter((a) => mine.some((m) => m.instance_id === a.instance_id))).toEqual([]);
    // One outcome per rented machine: the counts add up to what was rented.
    expect(mine.length).toBe(done.candidates.length);
    expect(new Set(mine.map((a) => a.instance_id)).size).toBe(mine.length);
    const winner = mine.find((a) => a.instance_id === done.winner_instance_id);
    expect(winner).toMatchObject({ success: true, outcome: "success" });
    const abandoned = mine.filter((a) => a.outcome === "abandoned");
    expect(abandoned.length).toBeGreaterThanOrEqual(1);
    for (const a of abandoned) expect(a).toMatchObject({ success: false, failure_stage: null });

    const summary = await call<{
      total_attempts: number;
      successful: number;
      failed: number;
      abandoned: number;
      success_rate: number;
      failure_stages: Record<string, number>;
    }>("GET", "/api/v1/machines/history/summary?hours=1");
    expect(summary.total_attempts).toBe(summary.successful + summary.failed + summary.abandoned);
    expect(summary.abandoned).toBeGreaterThanOrEqual(abandoned.length);
    // Nothing failed on this healthy market: abandoned losers do not count against anyone.
    expect(summary.failed).toBe(0);
    expect(summary.success_rate).toBe(1);
    expect(summary.failure_stages).toEqual({});

    // The host of an abandoned loser: rented, not blamed.
    const host = abandoned[0]?.machine_id ?? "";
    const stats = await call<{
      total_attempts: number;
      failed_attempts: number;
      abandoned_attempts: number;
      success_rate: number;
    }>("GET", `/api/v1/machines/history/stats/vast.ai/${host}`);
    expect(stats.abandoned_attempts).toBeGreaterThanOrEqual(1);
    expect(stats.failed_attempts).toBe(0);
    expect(stats.total_attempts).toBeGreaterThanOrEqual(stats.abandoned_attempts);

    if (done.winner_instance_id) await call("DELETE", `/api/v1/instances/${done.winner_instance_id}`);
  });

  it("never blacklists a host for abandoned rentals", async () => {
    const record = (
      instanceId: string,
      outcome: { success: boolean; abandoned?: boolean },
      machineId = "host-abandoned-only",
    ) =>
      server.server.context.history.record({
        provider: "vast.ai",
        machineId,
        offerId: "offer-x",
        instanceId,
        userId: user.userId,
        gpuName: "RTX 4090",
        numGpus: 1,
        pricePerHour: 0.3,
        geolocation: "US",
        ...outcome,
        failureStage: outcome.success || outcome.abandoned ? null : "loading",
        failureReason: outcome.success ? null : "destroyed before ready: the race was decided",
        timeToReadyS: null,
      });
    for (let i = 0; i < 5; i++) await record(`ins_abandoned_${i}`, { success: false, abandoned: true });
    await record("ins_ok_1", { success: true });
    const check = (host: string) =>
      call<{ is_blacklisted: boolean }>("GET", `/api/v1/machines/history/blacklist/check/vast.ai/${host}`);
    expect((await check("host-abandoned-only")).is_blacklisted).toBe(false);
    // The same rule does blacklist a host whose boots fail (the test above is not vacuous).
    for (let i = 0; i < 3; i++) await record(`ins_failed_${i}`, { success: false }, "host-failing");
    expect((await check("host-failing")).is_blacklisted).toBe(true);
    const stats = await call<{ success_rate: number; reliability_status: string; abandoned_attempts: number }>(
      "GET",
      "/api/v1/machines/history/stats/vast.ai/host-abandoned-only",
    );
    expect(stats).toMatchObject({ success_rate: 1, abandoned_attempts: 5, reliability_status: "unknown" });
    // A second record for the same machine does not count it twice.
    await record("ins_ok_1", { success: false });
    const again = await call<{ total_attempts: number }>(
      "GET",
      "/api/v1/machines/history/stats/vast.ai/host-abandoned-only",
    );
    expect(again.total_attempts).toBe(6);
  });

  it("bills a job for every machine rented for it, race losers included, each at its own price", async () => {
    const created = await call<Job>("POST", "/api/v1/jobs", {
      name: "billed",
      command: "echo billed; sleep 1",
      max_price: 3,
      disk_size: 10,
    });
    expect(created.simulated).toBe(true);
    const job = await until(
      () => call<Job>("GET", `/api/v1/jobs/${created.id}`),
      (j) => ["completed", "failed", "cancelled", "timed_out"].includes(j.status),
      120_000,
    );
    expect(job.status, job.error_message ?? "").toBe("completed");
    const deployment = await call<Deployment>("GET", `/api/v1/wizard/deployments/${job.deployment_id ?? ""}`);
    // Every candidate of the job's race is on its bill, and nothing else.
    expect(job.machines.map((m) => m.instance_id).sort()).toEqual(
      deployment.candidates.map((c) => c.instance_id).sort(),
    );
    expect(job.machines.filter((m) => m.role === "winner").map((m) => m.instance_id)).toEqual([
      deployment.winner_instance_id,
    ]);
    const losers = job.machines.filter((m) => m.role === "loser");
    expect(losers.length).toBeGreaterThanOrEqual(1);
    for (const m of job.machines) {
      expect(ENDED).toContain(m.status);
      expect(m.seconds).toBeGreaterThan(0);
      expect(m.cost_usd).toBeCloseTo(((m.seconds ?? 0) / 3600) * m.dph_total, 5);
      expect(m.cost_usd).toBeGreaterThan(0);
    }
    // Each machine at its own price, from the rows themselves (create call → confirmed destroy).
    const rows = await server.server.context.database.db
      .selectFrom("instances")
      .select(["id", "price_per_hour", "create_attempted_at", "updated_at"])
      .where("deployment_id", "=", job.deployment_id ?? "")
      .execute();
    const fromRows = rows.reduce(
      (sum, r) => sum + ((r.updated_at - (r.create_attempted_at ?? r.updated_at)) / 3_600_000) * r.price_per_hour,
      0,
    );
    expect(job.total_cost).toBeCloseTo(fromRows, 5);
    expect(job.total_cost).toBeCloseTo(
      job.machines.reduce((sum, m) => sum + m.cost_usd, 0),
      6,
    );
    expect(job.total_cost).toBeGreaterThan(0);
    const listed = (await call<{ jobs: Job[] }>("GET", "/api/v1/jobs")).jobs.find((j) => j.id === job.id);
    expect(listed).toMatchObject({ total_cost: job.total_cost, simulated: true });
  });
});

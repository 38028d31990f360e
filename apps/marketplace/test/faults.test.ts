import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createInstance,
  generateKey,
  hostPidsOf,
  num,
  pickOffer,
  rows,
  runningInstance,
  ssh,
  sshEndpoint,
  sshOptions,
  startTestMarket,
  waitFor,
  waitForInstance,
  type Json,
  type KeyPair,
  type TestMarket,
} from "./helpers";

/** Vast's self-test failure patterns for status_msg (vast-api.md §3.6). */
const FAILURE_PATTERN = /error|failed|failure|exception|traceback|oci runtime|permission denied/i;

describe("faults, each triggered through /sim", () => {
  let t: TestMarket;
  let key: KeyPair;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 31 });
    key = await generateKey(t.dir);
  });
  afterAll(async () => {
    await t.close();
  });

  const fault = async (id: number, kind: string, extra: Record<string, unknown> = {}): Promise<Json> => {
    const response = await t.call("POST", `/sim/instances/${id}/faults`, { kind, ...extra });
    expect(response.status, response.text).toBe(200);
    return response.body;
  };

  it("boot failure: a host set to fail boots never reaches running", async () => {
    const offer = await pickOffer(t);
    const set = await t.call("POST", `/sim/hosts/${offer.machine_id}/boot-failure`, { probability: 1 });
    expect(set.status).toBe(200);
    const created = await t.call("PUT", `/api/v0/asks/${offer.id}/`, { image: "vastai/base-image", disk: 10 });
    const id = created.body.new_contract as number;
    // What a client checks (vast-api.md §3.6): exited, or an error in status_msg (OCI, pull).
    const failed = await waitForInstance(
      t,
      id,
      (i) => i.actual_status === "exited" || (i.actual_status !== null && FAILURE_PATTERN.test(String(i.status_msg))),
    );
    expect(["created", "exited", "loading"]).toContain(failed.actual_status);
    expect(failed.status_msg).toMatch(FAILURE_PATTERN);
    expect(failed.cur_state).toBe("running");
    expect(failed.ports).toBeNull();
    await t.call("POST", `/sim/hosts/${offer.machine_id}/boot-failure`, { probability: 0 });
    await t.call("DELETE", `/api/v0/instances/${id}/`);
  });

  it("boot failure on a running instance: created + OCI error, processes and SSH gone", async () => {
    const rented = await runningInstance(t, key);
    await ssh(rented, key, "nohup sleep 987700 >/dev/null 2>&1 &");
    await fault(rented.id, "boot_failure");
    const failed = (await t.call("GET", `/api/v0/instances/${rented.id}/`)).body.instances;
    expect(failed.actual_status).toBe("created");
    expect(failed.status_msg).toContain("OCI runtime create failed");
    expect(await hostPidsOf(["sleep", "987700"])).toEqual([]);
    expect((await ssh(rented, key, "true")).code).toBe(255);
    await fault(rented.id, "boot_failure").catch(() => undefined);
    const exit = await t.call("POST", `/sim/instances/${rented.id}/faults`, { kind: "exit" });
    expect(exit.status).toBe(400);
    await t.call("DELETE", `/api/v0/instances/${rented.id}/`);
  });

  it("exit: the container exits, actual_status exited", async () => {
    const rented = await runningInstance(t, key);
    await fault(rented.id, "exit");
    const exited = (await t.call("GET", `/api/v0/instances/${rented.id}/`)).body.instances;
    expect(exited).toMatchObject({ actual_status: "exited", cur_state: "running", intended_status: "running" });
    await t.call("DELETE", `/api/v0/instances/${rented.id}/`);
  });

  it("outbid: triple stopped with an outbid message; a winning bid resumes it", async () => {
    const offer = await pickOffer(t, { type: "bid" });
    const bid = offer.min_bid as number;
    await t.call("POST", "/api/v0/ssh/", { ssh_key: key.publicKey });
    const created = await t.call("PUT", `/api/v0/asks/${offer.id}/`, {
      image: "vastai/base-image",
      disk: 10,
      price: bid,
    });
    expect(created.body.success).toBe(true);
    const id = created.body.new_contract as number;
    const running = await waitForInstance(t, id, (i) => i.actual_status === "running");
    expect(running.is_bid).toBe(true);
    await ssh(sshEndpoint(running), key, "nohup sleep 987701 >/dev/null 2>&1 &");

    await fault(id, "outbid");
    const outbid = (await t.call("GET", `/api/v0/instances/${id}/`)).body.instances;
    expect(outbid).toMatchObject({
      cur_state: "stopped",
      next_state: "stopped",
      intended_status: "stopped",
      actual_status: "stopped",
    });
    expect(outbid.status_msg).toMatch(/outbid/i);
    expect(outbid.min_bid).toBeGreaterThan(bid);
    expect(await hostPidsOf(["sleep", "987701"])).toEqual([]);

    const start = await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" });
    expect(start.status).toBe(200);
    expect(start.body).toEqual({
      success: false,
      msg: "Required resources are currently unavailable, state change queued.",
    });
    const tooLow = await t.call("PUT", `/api/v0/instances/bid_price/${id}/`, { client_id: "me", price: bid });
    expect(tooLow.body.success).toBe(true);
    expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances.cur_state).toBe("stopped");
    const winning = await t.call("PUT", `/api/v0/instances/bid_price/${id}/`, {
      client_id: "me",
      price: (outbid.min_bid as number) * 1.1,
    });
    expect(winning.body).toEqual({ success: true });
    await waitForInstance(t, id, (i) => i.actual_status === "running");
    await t.call("DELETE", `/api/v0/instances/${id}/`);
  });

  it("a losing bid at create makes a stopped instance and says so with new_contract", async () => {
    const offer = await pickOffer(t, { type: "bid" });
    const created = await t.call("PUT", `/api/v0/asks/${offer.id}/`, {
      image: "x",
      price: (offer.min_bid as number) / 2,
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ success: false, error: "bid_too_low", new_contract: expect.any(Number) });
    const instance = (await t.call("GET", `/api/v0/instances/${created.body.new_contract}/`)).body.instances;
    expect(instance).toMatchObject({
      cur_state: "stopped",
      next_state: "stopped",
      intended_status: "stopped",
      is_bid: true,
    });
    expect((await t.call("DELETE", `/api/v0/instances/${created.body.new_contract}/`)).body).toEqual({ success: true });
  });

  it("host offline: instance offline and unreachable; back online it boots again with its disk", async () => {
    const rented = await runningInstance(t, key);
    await ssh(rented, key, "echo survived > /workspace/f; nohup sleep 987702 >/dev/null 2>&1 &");
    const machineId = rented.instance.machine_id as number;
    await fault(rented.id, "host_offline");
    const offline = (await t.call("GET", `/api/v0/instances/${rented.id}/`)).body.instances;
    expect(offline.actual_status).toBe("offline");
    expect(await hostPidsOf(["sleep", "987702"])).toEqual([]);
    expect((await ssh(rented, key, "true")).code).toBe(255);
    const offers = await t.call("POST", "/api/v0/bundles/", { machine_id: { eq: machineId } });
    expect(rows(offers.body.offers).every((o) => o.rentable === false)).toBe(true);

    await fault(rented.id, "host_online");
    const back = await waitForInstance(t, rented.id, (i) => i.actual_status === "running");
    expect((await ssh(sshEndpoint(back), key, "cat /workspace/f")).stdout).toBe("survived\n");
    await t.call("DELETE", `/api/v0/instances/${rented.id}/`);
  });

  it("queued start: the GPU was taken while stopped; the start queues and happens when it frees", async () => {
    const rented = await runningInstance(t, key);
    const id = rented.id;
    await fault(id, "gpu_taken", { duration_s: 3600 });
    await t.call("PUT", `/api/v0/instances/${id}/`, { state: "stopped" });
    const start = await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" });
    expect(start.status).toBe(200);
    expect(start.body).toEqual({
      success: false,
      msg: "Required resources are currently unavailable, state change queued.",
    });
    const queued = (await t.call("GET", `/api/v0/instances/${id}/`)).body.instances;
    expect(queued).toMatchObject({ cur_state: "stopped", intended_status: "running", actual_status: "exited" });
    const offers = await t.call("POST", "/api/v0/bundles/", { machine_id: { eq: rented.instance.machine_id } });
    expect(rows(offers.body.offers).every((o) => o.rentable === false)).toBe(true);

    await fault(id, "gpu_free");
    await waitForInstance(t, id, (i) => i.actual_status === "running");

    // Freed by itself once the other renter's time is up (200 simulated seconds, 1 s here).
    await fault(id, "gpu_taken", { duration_s: 200 });
    await t.call("PUT", `/api/v0/instances/${id}/`, { state: "stopped" });
    expect((await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" })).body.success).toBe(false);
    await waitForInstance(t, id, (i) => i.actual_status === "running");

    // A stop cancels a queued start.
    await fault(id, "gpu_taken", { duration_s: 60 });
    await t.call("PUT", `/api/v0/instances/${id}/`, { state: "stopped" });
    await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" });
    await t.call("PUT", `/api/v0/instances/${id}/`, { state: "stopped" });
    // Longer than the other renter keeps the GPU: the cancelled start must not happen when it frees.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances).toMatchObject({
      cur_state: "stopped",
      intended_status: "stopped",
    });
    await t.call("DELETE", `/api/v0/instances/${id}/`);
  });

  it("SSH drop: open connections are cut, new ones work", async () => {
    const rented = await runningInstance(t, key);
    const session = spawn("ssh", [...sshOptions(rented.port, key), `root@${rented.host}`, "sleep 30"], {
      stdio: "ignore",
    });
    const ended = new Promise<number | null>((resolve) => session.once("close", (code) => resolve(code)));
    await waitFor("the ssh session", async () => {
      const state = (await t.call("GET", "/sim/state")).body;
      const mine = (state.instances as Json[]).find((i) => i.id === rented.id);
      return mine.ssh_connections >= 1 ? true : undefined;
    });
    const dropped = await fault(rented.id, "ssh_drop");
    expect(dropped.dropped).toBeGreaterThanOrEqual(1);
    expect(await ended).toBe(255);
    expect((await ssh(rented, key, "echo still-here")).stdout).toBe("still-here\n");
    await t.call("DELETE", `/api/v0/instances/${rented.id}/`);
  });

  it("refuses faults on other accounts' instances and unknown kinds", async () => {
    const { id } = await createInstance(t, { target_state: "stopped" });
    const other = await t.call("POST", "/sim/accounts", { credit: 5 });
    expect(other.body.api_key).toEqual(expect.any(String));
    const foreign = await t.call("POST", `/sim/instances/${id}/faults`, { kind: "exit" }, other.body.api_key as string);
    expect(foreign.status).toBe(404);
    expect((await t.call("GET", `/api/v0/instances/${id}/`, undefined, other.body.api_key as string)).body).toEqual({
      instances: null,
    });
    expect((await t.call("POST", `/sim/instances/${id}/faults`, { kind: "meteor" })).status).toBe(400);
    await t.call("DELETE", `/api/v0/instances/${id}/`);
  });
});

describe("fault profiles", () => {
  it("draw API faults deterministically from the seed (flaky ≈ 5 % 429, 2 % 5xx; healthy none)", async () => {
    const statuses = async (profile: "healthy" | "flaky" | "hostile", seed: number): Promise<number[]> => {
      const t = await startTestMarket({ seed, profile, machines: 20 });
      try {
        const out: number[] = [];
        for (let i = 0; i < 200; i++) out.push((await t.call("GET", "/api/v0/users/current/")).status);
        return out;
      } finally {
        await t.close();
      }
    };
    const flaky = await statuses("flaky", 9);
    expect(await statuses("flaky", 9)).toEqual(flaky);
    const limited = flaky.filter((s) => s === 429).length;
    const unavailable = flaky.filter((s) => s === 503).length;
    expect(limited).toBeGreaterThan(2);
    expect(limited).toBeLessThan(25);
    expect(unavailable).toBeLessThan(15);
    expect((await statuses("healthy", 9)).every((s) => s === 200)).toBe(true);
    const hostile = await statuses("hostile", 9);
    expect(hostile.filter((s) => s !== 200).length).toBeGreaterThan(flaky.filter((s) => s !== 200).length);
  });
});

// The hostile profile on a frozen clock: the same seed and the same calls give the same history.
describe("spontaneous faults", () => {
  const scenario = async (seed: number): Promise<unknown[]> => {
    const t = await startTestMarket({ seed, profile: "hostile", timeScale: 0, machines: 60 });
    try {
      // API faults are part of the profile too; off here so the scenario's own calls go through.
      await t.call("POST", "/sim/api-faults", { rate_429: 0, rate_5xx: 0 });
      const settle = async () =>
        waitFor("pending sandbox work", async () => {
          const state = (await t.call("GET", "/sim/state")).body;
          return rows(state.instances).every((i) => i.pending_work === 0) ? true : undefined;
        });
      const advance = async (seconds: number) => {
        await t.call("POST", "/sim/clock/advance", { seconds });
        await settle();
      };
      const offers = rows(
        (
          await t.call("POST", "/api/v0/bundles/", {
            rentable: { eq: true },
            gpu_frac: { eq: 1 },
            order: [["id", "asc"]],
            limit: 6,
            type: "bid",
          })
        ).body.offers,
      );
      for (const [index, offer] of offers.entries()) {
        const bid = index % 2 === 0 ? { price: num(offer.min_bid) * 1.01 } : {};
        const created = await t.call("PUT", `/api/v0/asks/${offer.id}/`, { image: "x", disk: 10, ...bid });
        // Hostile also loses some create answers (504) after the create happened (vast-api.md §3.13).
        expect([200, 504], created.text).toContain(created.status);
      }
      const history: unknown[] = [];
      for (let step = 0; step < 24; step++) {
        await advance(step === 0 ? 10 : 600);
        const state = (await t.call("GET", "/sim/state")).body;
        history.push(
          rows(state.instances).map((i): unknown[] => [i.id, i.phase, i.actual_status, i.cur_state, i.intended_status]),
        );
      }
      return history;
    } finally {
      await t.close();
    }
  };

  it("hostile: boot failures, offline hosts and outbids happen, the same way for the same seed", async () => {
    const first = await scenario(5);
    const phases = new Set(first.flat(2).filter((v) => typeof v === "string"));
    // Something went wrong over four simulated hours, and something ran.
    expect(phases.has("running")).toBe(true);
    expect(
      [...phases].some((p) => ["failed", "offline", "created", "exited"].includes(String(p)) || p === "stopped"),
    ).toBe(true);
    expect(await scenario(5)).toEqual(first);
  });
});

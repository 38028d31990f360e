import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createInstance,
  generateKey,
  hostPidsOf,
  num,
  rows,
  runningInstance,
  ssh,
  sshEndpoint,
  startTestMarket,
  waitFor,
  waitForInstance,
  type KeyPair,
  type TestMarket,
} from "./helpers";

describe("instance lifecycle: processes, disk, reboot", () => {
  let t: TestMarket;
  let key: KeyPair;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 21 });
    key = await generateKey(t.dir);
  });
  afterAll(async () => {
    await t.close();
  });

  it("kills every process on stop (nohup and setsid too), keeps the disk across stop/start, deletes it on destroy", async () => {
    const rented = await runningInstance(t, key, { label: "lifecycle" });
    const { id } = rented;
    const started = await ssh(
      rented,
      key,
      "nohup sleep 987654 >/dev/null 2>&1 & setsid sleep 987655 >/dev/null 2>&1 < /dev/null & echo kept > /workspace/keep.txt; echo ok",
    );
    expect(started.stdout).toBe("ok\n");
    expect(await hostPidsOf(["sleep", "987654"])).toHaveLength(1);
    expect(await hostPidsOf(["sleep", "987655"])).toHaveLength(1);

    const stop = await t.call("PUT", `/api/v0/instances/${id}/`, { state: "stopped" });
    expect(stop.body).toEqual({ success: true });
    // The answer comes once the namespace is gone: the kernel killed everything in it.
    expect(await hostPidsOf(["sleep", "987654"])).toEqual([]);
    expect(await hostPidsOf(["sleep", "987655"])).toEqual([]);
    const stopped = (await t.call("GET", `/api/v0/instances/${id}/`)).body.instances;
    expect(stopped).toMatchObject({
      actual_status: "stopped",
      cur_state: "stopped",
      intended_status: "stopped",
      ports: null,
    });
    expect((await ssh(rented, key, "true")).code).toBe(255);

    const start = await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" });
    expect(start.body).toEqual({ success: true });
    const again = await waitForInstance(t, id, (i) => i.actual_status === "running");
    const endpoint = sshEndpoint(again);
    expect((await ssh(endpoint, key, "cat /workspace/keep.txt; pgrep -x sleep || echo none")).stdout).toBe(
      "kept\nnone\n",
    );

    const workspace = join(t.dir, "data", "instances", String(id), "workspace");
    await access(workspace);
    await ssh(endpoint, key, "nohup sleep 987656 >/dev/null 2>&1 &");
    expect(await hostPidsOf(["sleep", "987656"])).toHaveLength(1);
    expect((await t.call("DELETE", `/api/v0/instances/${id}/`)).body).toEqual({ success: true });
    expect(await hostPidsOf(["sleep", "987656"])).toEqual([]);
    await expect(access(workspace)).rejects.toThrow();
    expect((await ssh(endpoint, key, "true")).code).toBe(255);
  });

  it("reboots: processes restart, the GPU and the disk stay", async () => {
    const rented = await runningInstance(t, key);
    await ssh(rented, key, "echo disk > /workspace/r.txt; nohup sleep 987657 >/dev/null 2>&1 &");
    expect(await hostPidsOf(["sleep", "987657"])).toHaveLength(1);
    expect((await t.call("PUT", `/api/v0/instances/reboot/${rented.id}/`, {})).body).toEqual({ success: true });
    const rebooting = (await t.call("GET", `/api/v0/instances/${rented.id}/`)).body.instances;
    expect(rebooting.actual_status).toBe("rebooting");
    expect(rebooting.cur_state).toBe("running");
    const back = await waitForInstance(t, rented.id, (i) => i.actual_status === "running");
    expect(await hostPidsOf(["sleep", "987657"])).toEqual([]);
    expect((await ssh(sshEndpoint(back), key, "cat /workspace/r.txt")).stdout).toBe("disk\n");
    await t.call("DELETE", `/api/v0/instances/${rented.id}/`);
  });

  it("notices a sandbox that died on its own: the container exited", async () => {
    const rented = await runningInstance(t, key);
    const state = (await t.call("GET", "/sim/state")).body;
    const mine = rows(state.instances).find((i) => i.id === rented.id);
    process.kill(num(mine.sandbox_init_pid), "SIGKILL");
    const exited = await waitForInstance(t, rented.id, (i) => i.actual_status === "exited");
    expect(exited.status_msg).toMatch(/exited unexpectedly/);
    expect((await ssh(rented, key, "true")).code).toBe(255);
    await t.call("DELETE", `/api/v0/instances/${rented.id}/`);
  });

  it("fails the boot with a clear status_msg when bubblewrap cannot build the sandbox", async () => {
    // A fake `bwrap` first on PATH stands in for a kernel that refuses user namespaces.
    const fakeBin = join(t.dir, "fake-bin");
    await mkdir(fakeBin, { recursive: true });
    await writeFile(
      join(fakeBin, "bwrap"),
      "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
      {
        mode: 0o755,
      },
    );
    const originalPath = process.env.PATH;
    process.env.PATH = `${fakeBin}:${originalPath ?? ""}`;
    try {
      const { id } = await createInstance(t);
      const failed = await waitForInstance(t, id, (i) => i.actual_status === "created");
      expect(failed.status_msg).toMatch(
        /^sandbox: bubblewrap could not create the sandbox: bwrap: setting up uid map: Permission denied\. .*tools\/system-deps\.sh/,
      );
      await t.call("DELETE", `/api/v0/instances/${id}/`);
    } finally {
      process.env.PATH = originalPath;
    }
  });

  it("isolates two instances from each other", async () => {
    const first = await runningInstance(t, key);
    const second = await runningInstance(t, key);
    await ssh(first, key, "echo one > /workspace/who");
    await ssh(second, key, "echo two > /workspace/who");
    expect((await ssh(first, key, "cat /workspace/who; ls /root/.dumont-sim/bin")).stdout).toBe(
      // vastai/base-image is a Python image: the market adds python and pip to its tools.
      "one\nnvidia-smi\nollama\npip\npython\n",
    );
    expect((await ssh(second, key, "cat /workspace/who")).stdout).toBe("two\n");
    await t.call("DELETE", `/api/v0/instances/${first.id}/`);
    await t.call("DELETE", `/api/v0/instances/${second.id}/`);
  });
});

// A frozen clock (timeScale 0): time moves only through /sim/clock/advance, so charges are exact.
describe("billing on the simulated clock", () => {
  let t: TestMarket;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 5, timeScale: 0, credit: 50 });
  });
  afterAll(async () => {
    await t.close();
  });

  const advance = async (seconds: number) => {
    const response = await t.call("POST", "/sim/clock/advance", { seconds });
    expect(response.status).toBe(200);
  };
  const credit = async (): Promise<number> => (await t.call("GET", "/api/v0/users/current/")).body.credit as number;

  it("walks the boot timeline only as the clock advances", async () => {
    const { id } = await createInstance(t, { disk: 20 });
    expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances.actual_status).toBeNull();
    await advance(10);
    expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances.actual_status).toBe("loading");
    await advance(600);
    await waitForInstance(t, id, (i) => i.actual_status === "running");
    await t.call("DELETE", `/api/v0/instances/${id}/`);
  });

  it("charges compute while running and storage always, and stops everything when credit runs out", async () => {
    const { id, offer } = await createInstance(t, { disk: 40 });
    await advance(10);
    await advance(600);
    const running = await waitForInstance(t, id, (i) => i.actual_status === "running");
    const diskPerHour = (40 * offer.storage_cost) / 720;
    expect(running.dph_total).toBeCloseTo(num(offer.dph_base) + diskPerHour, 6);

    const before = await credit();
    await advance(3600);
    expect(before - (await credit())).toBeCloseTo(running.dph_total as number, 5);

    await t.call("PUT", `/api/v0/instances/${id}/`, { state: "stopped" });
    const stoppedAt = await credit();
    await advance(3600);
    expect(stoppedAt - (await credit())).toBeCloseTo(diskPerHour, 5);

    expect((await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" })).body).toEqual({ success: true });
    await advance(10);
    await waitForInstance(t, id, (i) => i.actual_status === "running");
    expect((await t.call("POST", "/sim/credit", { credit: 0.05 })).status).toBe(200);
    await advance(3600);
    const exhausted = await waitForInstance(t, id, (i) => i.cur_state === "stopped");
    expect(exhausted.actual_status).toBe("exited");
    expect(exhausted.status_msg).toMatch(/credit/);
    expect(await credit()).toBeLessThanOrEqual(0);
    const refused = await createInstance(t).catch((error: unknown) => String(error));
    expect(refused).toMatch(/400 .*insufficient_credit/);
    const start = await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" });
    expect(start.status).toBe(400);
    expect(start.body.error).toBe("insufficient_credit");

    await t.call("POST", "/sim/credit", { credit: 10 });
    expect((await t.call("PUT", `/api/v0/instances/${id}/`, { state: "running" })).body).toEqual({ success: true });
    await waitFor("instance loading", async () => {
      const i = (await t.call("GET", `/api/v0/instances/${id}/`)).body.instances;
      return i.actual_status === "loading" ? (i as object) : undefined;
    });
    await t.call("DELETE", `/api/v0/instances/${id}/`);
  });
});

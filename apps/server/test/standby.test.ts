import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { sshExec, type SshEndpoint } from "@dumont/providers";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface Association {
  id: string;
  status: string;
  instance_id: string;
  gpu_instance_id: string;
  simulated: boolean;
  sync_count: number;
  last_sync_error: string | null;
  cpu_ssh_host: string | null;
  cpu_ssh_port: number | null;
  active: { role: "gpu" | "cpu"; ssh_host: string | null; ssh_port: number | null };
  error: string | null;
}

interface Endpoint {
  role: "gpu" | "cpu";
  ssh_host: string | null;
  ssh_port: number | null;
  serving_instance_id: string | null;
  standby_id: string | null;
}

/**
 * The CPU standby end to end on the embedded market and its emulated GCP project: real GPU
 * sandboxes, real CPU sandboxes, rsync running on the GPU straight to the standby, a GPU host
 * killed through /sim, failover, recovery onto a new GPU, planned migration and failback.
 * Health checks and syncs run faster than the defaults (1 s and 5 s) so the suite stays short.
 */
describe("CPU standby, sync, failover and recovery", () => {
  let server: InProcessServer;
  let alice: Account;

  beforeAll(async () => {
    server = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        DUMONT_INSTANCE_POLL_MS: "200",
        DUMONT_STANDBY_HEALTH_S: "1",
        DUMONT_STANDBY_RECHECK_S: "0.5",
      },
    });
    alice = await registerAccount(server.app, "alice");
  });
  afterAll(async () => {
    await server?.close();
  });

  const call = async (method: "GET" | "POST" | "DELETE" | "PUT", url: string, payload?: Record<string, unknown>) =>
    server.app.inject({ method, url, headers: bearer(alice.token), ...(payload === undefined ? {} : { payload }) });
  const json = async <T>(method: "GET" | "POST" | "DELETE" | "PUT", url: string, payload?: Record<string, unknown>) => {
    const response = await call(method, url, payload);
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json<T>();
  };
  const until = async <T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await sleep(100);
    }
  };
  const association = (id: string) => json<Association>("GET", `/api/v1/standby/associations/${id}`);
  const waitStatus = (id: string, status: string, timeoutMs = 60_000) =>
    until(
      `standby ${id} ${status}`,
      () => association(id),
      (a) => a.status === status,
      timeoutMs,
    );
  const exec = async (endpoint: SshEndpoint, command: string) => {
    const key = await server.server.context.sshKeys.controlKey(alice.userId);
    const result = await sshExec({ endpoint, privateKey: key.privateKey, command, timeoutMs: 20_000 });
    if (result.exitCode !== 0) throw new Error(`${command} exited ${result.exitCode}: ${result.stderr}`);
    return result.stdout;
  };
  const endpointOf = async (instanceId: string): Promise<SshEndpoint> => {
    const endpoint = await json<Endpoint>("GET", `/api/v1/instances/${instanceId}/endpoint`);
    if (!endpoint.ssh_host || !endpoint.ssh_port) throw new Error(`no endpoint: ${JSON.stringify(endpoint)}`);
    return { host: endpoint.ssh_host, port: endpoint.ssh_port, user: "root" };
  };
  /** sha256 of every regular file under /workspace/data but the excluded node_modules, sorted: what must survive. */
  const digest = (endpoint: SshEndpoint) =>
    exec(
      endpoint,
      "cd /workspace/data && find . -path ./node_modules -prune -o -type f -print0 | sort -z | xargs -0 sha256sum",
    );
  const rentGpu = async (): Promise<string> => {
    const offers = await json<{ offers: { id: string }[] }>("GET", "/api/v1/instances/offers?max_price=3&limit=1");
    const created = await json<{ id: string }>("POST", "/api/v1/instances", {
      offer_id: offers.offers[0]?.id,
      disk_size: 10,
    });
    await until(
      `instance ${created.id} running`,
      () => json<{ status: string }>("GET", `/api/v1/instances/${created.id}`),
      (i) => i.status === "running",
    );
    return created.id;
  };
  const market = () => {
    const embedded = server.server.context.markets.embedded;
    if (!embedded) throw new Error("no embedded market");
    return embedded;
  };
  const simGcpInstances = async () => {
    const response = await fetch(`${market().url}/sim/gcp/instances`, {
      headers: { authorization: `Bearer ${market().apiKey}` },
    });
    return (await response.json()) as { instances: { name: string; status: string }[] };
  };

  const FILES = [
    "mkdir -p /workspace/data/nested/deeper /workspace/data/node_modules/pkg",
    "head -c 1048576 /dev/urandom > /workspace/data/weights.bin",
    "echo hello > /workspace/data/nested/deeper/note.txt",
    "echo skipped > /workspace/data/node_modules/pkg/index.js",
    // Modes cross (a script stays executable), setuid does not.
    "printf '#!/bin/sh\\necho ok\\n' > /workspace/data/run.sh && chmod 4755 /workspace/data/run.sh",
  ].join(" && ");

  it("fails over to the CPU when the GPU host dies, then recovers by hand onto a new GPU", async () => {
    // Recovery by hand here, so the CPU's turn as the active machine lasts until the checks are done.
    await json("PUT", "/api/v1/standby/config", { auto_recovery: false });
    const instanceId = await rentGpu();
    const created = await json<Association>("POST", "/api/v1/standby/associations", {
      instance_id: instanceId,
      sync_interval_s: 5,
    });
    expect(created.simulated).toBe(true);
    expect(created.status).toBe("provisioning");
    await waitStatus(created.id, "syncing");
    const gpu = await endpointOf(instanceId);
    await exec(gpu, FILES);
    // A process writing continuously: file N holds N, so every file on the standby can be checked.
    await exec(
      gpu,
      "mkdir -p /workspace/data/stream && (nohup setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /workspace/data/stream/f$i; sleep 0.1; done' >/dev/null 2>&1 </dev/null &); echo started",
    );
    const fixed = await exec(gpu, "cd /workspace/data && sha256sum weights.bin nested/deeper/note.txt");
    const before = (await association(created.id)).sync_count;
    await until(
      "two syncs with the writer running",
      () => association(created.id),
      (a) => a.sync_count >= before + 2,
      30_000,
    );

    const gpuRow = await server.server.context.repos.instances.findById(instanceId);
    const killed = await fetch(`${market().url}/sim/instances/${gpuRow?.machine_id}/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${market().apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "host_offline" }),
    });
    expect(killed.status).toBeLessThan(300);
    const failedOver = await waitStatus(created.id, "failover_active", 30_000);
    expect(failedOver.active.role).toBe("cpu");

    const endpoint = await json<Endpoint>("GET", `/api/v1/instances/${instanceId}/endpoint`);
    expect(endpoint.role).toBe("cpu");
    expect(endpoint.standby_id).toBe(created.id);
    const cpu = await endpointOf(instanceId);
    expect(await exec(cpu, "cd /workspace/data && sha256sum weights.bin nested/deeper/note.txt")).toBe(fixed);
    expect(await exec(cpu, "test -e /workspace/data/node_modules && echo present || echo absent")).toBe("absent\n");
    expect(await exec(cpu, "stat -c %a /workspace/data/run.sh && /workspace/data/run.sh")).toBe("755\nok\n");
    // Every streamed file the standby holds is whole, and they run 1..N without a gap.
    const stream = await exec(cpu, 'cd /workspace/data/stream && for f in f*; do echo "$f $(cat $f)"; done');
    const lines = stream.trim().split("\n");
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const [name, content] = line.split(" ");
      expect(name).toBe(`f${content}`);
    }
    const numbers = lines.map((l) => Number(l.split(" ")[1])).sort((a, b) => a - b);
    expect(numbers[numbers.length - 1]).toBe(numbers.length);

    // Recovery: a new GPU, the workspace restored and verified, the GPU active again.
    await json("POST", `/api/v1/standby/associations/${created.id}/actions`, { action: "recover" });
    const recovered = await until(
      "recovery onto a new GPU",
      () => association(created.id),
      (a) => a.status === "syncing" && a.gpu_instance_id !== instanceId,
      120_000,
    );
    expect(recovered.active.role).toBe("gpu");
    const back = await json<Endpoint>("GET", `/api/v1/instances/${instanceId}/endpoint`);
    expect(back.role).toBe("gpu");
    expect(back.serving_instance_id).toBe(recovered.gpu_instance_id);
    const newGpu = await endpointOf(instanceId);
    expect(await exec(newGpu, "cd /workspace/data && sha256sum weights.bin nested/deeper/note.txt")).toBe(fixed);
    expect(await digest(newGpu)).toBe(await digest(cpu));

    const report = await json<{
      total: number;
      succeeded: number;
      mttr_ms: number | null;
      mean_rto_ms: number | null;
      failovers: { kind: string; success: boolean | null; phases_ms: Record<string, number> }[];
    }>("GET", `/api/v1/standby/failovers?association_id=${created.id}`);
    expect(report.total).toBe(1);
    expect(report.succeeded).toBe(1);
    expect(report.failovers[0]?.kind).toBe("automatic");
    expect(Object.keys(report.failovers[0]?.phases_ms ?? {})).toEqual(
      expect.arrayContaining(["detect", "switch", "provision", "restore", "verify"]),
    );
    // Detected within three health checks (1 s apart, 0.5 s after a failure) plus the check itself.
    expect(report.failovers[0]?.phases_ms.detect ?? Infinity).toBeLessThan(5_000);
    expect(report.mttr_ms).toBeGreaterThan(0);
    expect(report.mean_rto_ms).toBeGreaterThan(0);

    await json("DELETE", `/api/v1/instances/${recovered.gpu_instance_id}`);
    await waitStatus(created.id, "destroyed", 30_000);
  });

  it("a planned failover loses no file, and failback returns to the same GPU", async () => {
    const instanceId = await rentGpu();
    const created = await json<Association>("POST", "/api/v1/standby/associations", {
      instance_id: instanceId,
      sync_interval_s: 3600,
    });
    await waitStatus(created.id, "syncing");
    const gpu = await endpointOf(instanceId);
    // Written after the first sync, with the next one an hour away: only the final sync carries them.
    await exec(gpu, FILES);
    const written = await digest(gpu);
    await json("POST", `/api/v1/standby/associations/${created.id}/actions`, { action: "failover" });
    await waitStatus(created.id, "failover_active");
    const cpu = await endpointOf(instanceId);
    expect(await digest(cpu)).toBe(written);
    await until(
      "the GPU paused",
      () => json<{ status: string }>("GET", `/api/v1/instances/${instanceId}`),
      (i) => i.status === "paused",
    );
    // Work continues on the CPU; failback brings it to the GPU.
    await exec(cpu, "echo from-cpu > /workspace/data/cpu.txt");
    await json("POST", `/api/v1/standby/associations/${created.id}/actions`, { action: "failback" });
    const back = await until(
      "failback",
      () => association(created.id),
      (a) => a.status === "syncing" && a.active.role === "gpu",
      60_000,
    );
    expect(back.gpu_instance_id).toBe(instanceId);
    const resumed = await endpointOf(instanceId);
    expect(await exec(resumed, "cat /workspace/data/cpu.txt")).toBe("from-cpu\n");
    expect(await digest(resumed)).toBe(await digest(cpu));

    // Deleting the instance takes its standby with it, confirmed gone at the provider.
    const vmName = (await server.server.context.repos.standby.findOwned(alice.userId, created.id))?.vm_name;
    await json("DELETE", `/api/v1/instances/${instanceId}`);
    await waitStatus(created.id, "destroyed", 30_000);
    expect((await simGcpInstances()).instances.map((i) => i.name)).not.toContain(vmName);
  });

  it("an emptied GPU workspace never wipes the standby", async () => {
    const instanceId = await rentGpu();
    const gpu = await endpointOf(instanceId);
    await exec(gpu, FILES);
    const created = await json<Association>("POST", "/api/v1/standby/associations", {
      instance_id: instanceId,
      sync_interval_s: 5,
    });
    const synced = await waitStatus(created.id, "syncing");
    const cpuEndpoint = { host: synced.cpu_ssh_host ?? "", port: synced.cpu_ssh_port ?? 0, user: "root" };
    const kept = await digest(cpuEndpoint);
    expect(kept).toContain("weights.bin");
    await exec(gpu, "rm -rf /workspace/* /workspace/.[!.]* 2>/dev/null; ls -A /workspace | wc -l");
    const refused = await until(
      "a refused sync",
      () => association(created.id),
      (a) => (a.last_sync_error ?? "").includes("SYNC_REFUSED"),
      30_000,
    );
    expect(refused.status).toBe("syncing");
    expect(await digest(cpuEndpoint)).toBe(kept);
    const syncs = await json<{ syncs: { ok: boolean; error: string | null }[] }>(
      "GET",
      `/api/v1/standby/associations/${created.id}/syncs`,
    );
    expect(syncs.syncs[0]?.ok).toBe(false);

    // --keep-standby: the GPU goes, the standby stays and serves the workspace.
    await json("DELETE", `/api/v1/instances/${instanceId}?keep_standby=true`);
    const kept2 = await waitStatus(created.id, "failover_active", 30_000);
    expect(kept2.active.role).toBe("cpu");
    expect(await digest(await endpointOf(instanceId))).toBe(kept);
    await json("DELETE", `/api/v1/standby/associations/${created.id}`);
    await waitStatus(created.id, "destroyed", 30_000);
  });

  it("wizard deploy with standby gives the race's winner a standby", async () => {
    const deployment = await json<{ id: string }>("POST", "/api/v1/wizard/deploy", {
      speed: "any",
      max_price: 3,
      disk_size: 10,
      standby: true,
    });
    const done = await until(
      "the race's winner",
      () =>
        json<{ status: string; winner_instance_id: string | null }>(
          "GET",
          `/api/v1/wizard/deployments/${deployment.id}`,
        ),
      (d) => d.status === "completed" || d.status === "failed",
    );
    expect(done.status).toBe("completed");
    const winner = done.winner_instance_id ?? "";
    const standby = await until(
      "the winner's standby syncing",
      () => json<Association>("GET", `/api/v1/standby/associations/${winner}`),
      (a) => a.status === "syncing",
    );
    expect(standby.gpu_instance_id).toBe(winner);
    const list = await json<{ count: number }>("GET", "/api/v1/standby/associations?status=syncing");
    expect(list.count).toBe(1);
    await json("DELETE", `/api/v1/instances/${winner}`);
    await waitStatus(standby.id, "destroyed", 30_000);
  });

  it("a standby counts against the spending cap on the server's accounts", async () => {
    const bob = await registerAccount(server.app, "bob");
    const asBob = (method: "GET" | "POST" | "DELETE", url: string, payload?: Record<string, unknown>) =>
      server.app.inject({ method, url, headers: bearer(bob.token), ...(payload === undefined ? {} : { payload }) });
    const offers = (await asBob("GET", "/api/v1/instances/offers?max_price=3&limit=1")).json<{
      offers: { id: string }[];
    }>();
    const instance = (
      await asBob("POST", "/api/v1/instances", { offer_id: offers.offers[0]?.id, disk_size: 10 })
    ).json<{
      id: string;
    }>();
    // The operator (alice, the first account) lowers bob's cap to what he has spent.
    await json("PUT", `/api/v1/admin/users/${bob.userId}/spend-cap`, { spend_cap_usd: 0 });
    const refused = await asBob("POST", "/api/v1/standby/associations", { instance_id: instance.id });
    expect(refused.statusCode).toBe(402);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe("SPENDING_CAP_REACHED");
    expect((await asBob("GET", "/api/v1/standby/associations")).json<{ count: number }>().count).toBe(0);
    await asBob("DELETE", `/api/v1/instances/${instance.id}`);
  });

  it("a user's own GCP service account (sealed in settings) hosts their standbys", async () => {
    const carol = await registerAccount(server.app, "carol");
    const asCarol = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: Record<string, unknown>) =>
      server.app.inject({ method, url, headers: bearer(carol.token), ...(payload === undefined ? {} : { payload }) });
    const broken = await asCarol("PUT", "/api/v1/settings", {
      gcp_credentials: '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----secret"}',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.body).not.toContain("secret");
    // The emulated project's own service account stands in for "her" project.
    const stored = await asCarol("PUT", "/api/v1/settings", { gcp_credentials: market().gcp?.serviceAccountJson });
    expect(stored.statusCode).toBe(200);
    const settings = stored.json<{ gcp_credentials: { configured: boolean; hint: string | null } }>();
    expect(settings.gcp_credentials.configured).toBe(true);
    expect(settings.gcp_credentials.hint).toMatch(/@.*\(dumont-sim\)/);
    expect(stored.body).not.toContain("PRIVATE KEY");
    const offers = (await asCarol("GET", "/api/v1/instances/offers?max_price=3&limit=1")).json<{
      offers: { id: string }[];
    }>();
    const instance = (
      await asCarol("POST", "/api/v1/instances", { offer_id: offers.offers[0]?.id, disk_size: 10 })
    ).json<{ id: string }>();
    const standby = (await asCarol("POST", "/api/v1/standby/associations", { instance_id: instance.id })).json<
      Association & { provider: string }
    >();
    expect(standby.simulated).toBe(true);
    const row = await server.server.context.repos.standby.findOwned(carol.userId, standby.id);
    expect(row?.standby_market).toBe("user");
    await asCarol("DELETE", `/api/v1/instances/${instance.id}`);
    await until(
      "carol's standby destroyed",
      async () => (await asCarol("GET", `/api/v1/standby/associations/${standby.id}`)).json<Association>(),
      (a) => a.status === "destroyed" || a.status === "failed",
    );
  });

  it("validates what it is asked, and leaves nothing rented", async () => {
    const missing = await call("POST", "/api/v1/standby/associations", { instance_id: "ins_nope" });
    expect(missing.statusCode).toBe(404);
    const badType = await call("PUT", "/api/v1/standby/config", { machine_type: "z9-enormous" });
    expect(badType.statusCode).toBe(400);
    const tooFast = await call("PUT", "/api/v1/standby/config", { sync_interval_s: 1 });
    expect(tooFast.statusCode).toBe(400);
    const pricing = await json<{ prices_as_of: string; estimated_hourly_usd: number; simulated: boolean }>(
      "GET",
      "/api/v1/standby/pricing?machine_type=e2-medium&disk_gb=50",
    );
    expect(pricing.prices_as_of).toMatch(/\d{4}/);
    expect(pricing.estimated_hourly_usd).toBeGreaterThan(0);
    expect(pricing.simulated).toBe(true);
    const alive = (await simGcpInstances()).instances.filter((i) => i.status !== "TERMINATED");
    expect(alive.map((i) => i.name)).toEqual([]);
  });
});

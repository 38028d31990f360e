import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSshKeyPair, sshExec, type SshEndpoint, type SshKeyPair } from "@dumont/providers";
import { startMarketplace, type RunningMarketplace } from "@dumont/marketplace";
import { spawnServer, tempDir, type ServerProcess } from "@dumont/testing";
import { api, externalMarketEnv, registerOn, waitFor } from "./process-client";

interface Association {
  id: string;
  status: string;
  instance_id: string;
  gpu_instance_id: string;
  vm_name: string;
  cpu_ssh_host: string | null;
  cpu_ssh_port: number | null;
  active: { role: "gpu" | "cpu" };
  error: string | null;
}

interface InstanceBody {
  id: string;
  status: string;
  machine_id: string | null;
}

interface Endpoint {
  role: "gpu" | "cpu";
  ssh_host: string | null;
  ssh_port: number | null;
  serving_instance_id: string | null;
}

interface Deployment {
  id: string;
  status: string;
  winner_instance_id: string | null;
}

interface FailoverReport {
  total: number;
  succeeded: number;
  failovers: { kind: string; success: boolean | null; phases_ms: Record<string, number> }[];
}

interface SimState {
  instances: { id: number; phase: string; actual_status: string }[];
}

interface SimVm {
  name: string;
  status: string;
  labels: Record<string, string>;
}

type Drill = "after_switch" | "after_race_started" | "mid_restore";

/** A failover and recovery with two server starts take 20–40 s here; the waits inside are shorter. */
const STEP_TIMEOUT_MS = 150_000;

/**
 * SIGKILL the control plane at the worst moments of a failover and of a recovery (through the
 * standby crash drills), start it again on the same database without the drill, and check it
 * finishes the work: the workspace back on a new GPU, the lost GPU destroyed, the recovery's race
 * adopted rather than run twice, a half-done restore redone and verified. The market (GPUs and its
 * GCP project) outlives every server process, as Vast.ai and Google do; at the end nothing is left
 * rented on either.
 */
describe("CPU standby survives control-plane crashes", () => {
  let market: RunningMarketplace;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let token: string;
  let key: SshKeyPair;
  /** The instance the user asked to protect: its endpoint follows the active machine. */
  let instanceId: string;
  let associationId: string;
  const processes: ServerProcess[] = [];

  beforeAll(async () => {
    market = await startMarketplace({ dataDir: tempDir(), seed: 11, timeScale: 0.05 });
    env = externalMarketEnv(market, tempDir(), {
      GCP_CREDENTIALS: market.gcp.serviceAccountFile,
      GCP_COMPUTE_URL: market.gcp.computeUrl,
      DUMONT_STANDBY_HEALTH_S: "1",
      DUMONT_STANDBY_RECHECK_S: "0.5",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_ORPHAN_GRACE_S: "2",
    });
    key = generateSshKeyPair("standby-crash-test");
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    // Every server's log, for a failure's post-mortem: STANDBY_CRASH_LOG=/tmp/standby-crash.log.
    if (process.env.STANDBY_CRASH_LOG)
      (await import("node:fs")).writeFileSync(
        process.env.STANDBY_CRASH_LOG,
        processes.map((p, i) => `===== process ${i}\n${p.output()}`).join("\n"),
      );
    await market?.close();
  });

  const start = async (drill?: Drill) => {
    const started = await spawnServer(drill ? { ...env, DUMONT_DRILL_KILL_IN_STANDBY: drill } : env);
    processes.push(started);
    server = started;
    return started;
  };
  const url = () => {
    if (!server) throw new Error("no server running");
    return server.url;
  };
  const json = async <T>(path: string, options: { method?: string; body?: unknown } = {}) => {
    const { status, body } = await api<T>(`${url()}${path}`, { ...options, token });
    if (status >= 300) throw new Error(`${options.method ?? "GET"} ${path}: ${status} ${JSON.stringify(body)}`);
    return body;
  };
  const association = () => json<Association>(`/api/v1/standby/associations/${associationId}`);
  const sim = async <T>(path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${market.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${market.apiKey}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const exec = async (endpoint: SshEndpoint, command: string) => {
    const result = await sshExec({ endpoint, privateKey: key.privateKey, command, timeoutMs: 20_000 });
    if (result.exitCode !== 0) throw new Error(`${command} exited ${result.exitCode}: ${result.stderr}`);
    return result.stdout;
  };
  /** Where the protected instance answers now (the GPU, or the CPU standby after a failover). */
  const active = async (): Promise<SshEndpoint> => {
    const endpoint = await json<Endpoint>(`/api/v1/instances/${instanceId}/endpoint`);
    if (!endpoint.ssh_host || !endpoint.ssh_port) throw new Error(`no endpoint: ${JSON.stringify(endpoint)}`);
    return { host: endpoint.ssh_host, port: endpoint.ssh_port, user: "root" };
  };
  const cpuOf = (a: Association): SshEndpoint => ({
    host: a.cpu_ssh_host ?? "",
    port: a.cpu_ssh_port ?? 0,
    user: "root",
  });
  /** sha256 of every regular file in the synced workspace, sorted: what a restore must reproduce. */
  const digest = (endpoint: SshEndpoint) =>
    exec(endpoint, "cd /workspace/data && find . -type f -print0 | sort -z | xargs -0 sha256sum");

  /** Kills the host of the GPU now paired: the market says `offline` and SSH stops answering. */
  const killGpuHost = async () => {
    const gpu = await json<InstanceBody>(`/api/v1/instances/${(await association()).gpu_instance_id}`);
    await sim(`/sim/instances/${gpu.machine_id}/faults`, { method: "POST", body: { kind: "host_offline" } });
    return gpu;
  };
  const diedOfDrill = (doomed: ServerProcess, what: string) =>
    waitFor(what, () => Promise.resolve(doomed.child.signalCode === "SIGKILL" ? true : undefined), 60_000);
  const recoveredFrom = (lostGpuId: string) =>
    waitFor(
      `recovery from ${lostGpuId}`,
      async () => {
        const a = await association();
        return a.status === "syncing" && a.gpu_instance_id !== lostGpuId && a.active.role === "gpu" ? a : undefined;
      },
      120_000,
    );

  /** Every GPU rented at the market belongs to an instance the server still counts live, and back. */
  const marketMatchesServer = async () => {
    let seen = "";
    try {
      return await waitFor(
        "the market's GPUs to be the server's live instances",
        async () => {
          const market = (await sim<SimState>("/sim/state")).instances;
          const { instances } = await json<{ instances: InstanceBody[] }>("/api/v1/instances");
          const rented = market.map((i) => String(i.id)).sort();
          const live = instances
            .filter((i) => !["destroyed", "failed"].includes(i.status) && i.machine_id !== null)
            .map((i) => i.machine_id ?? "")
            .sort();
          seen = JSON.stringify({ market, server: instances.map((i) => [i.id, i.status, i.machine_id]) });
          return JSON.stringify(rented) === JSON.stringify(live) ? live : undefined;
        },
        60_000,
      );
    } catch (error) {
      throw new Error(`${String(error)}: ${seen}`);
    }
  };
  /** The standby machines this association has at the market's GCP project (not yet deleted). */
  const standbyVms = async () =>
    (await sim<{ instances: SimVm[] }>("/sim/gcp/instances")).instances.filter(
      (vm) => vm.labels["dumont-resource"] === associationId,
    );

  it(
    "finishes a failover whose server died right after the switch, and recovers onto a new GPU",
    async () => {
      const doomed = await start("after_switch");
      token = await registerOn(doomed.url, "standby-crash@example.com");
      await json("/api/v1/ssh-keys", { method: "POST", body: { name: "test", public_key: key.publicKey } });
      await json("/api/v1/standby/config", { method: "PUT", body: { auto_recovery: true, auto_failover: true } });
      const offers = await json<{ offers: { id: string }[] }>("/api/v1/instances/offers?max_price=3&limit=1");
      const created = await json<{ id: string }>("/api/v1/instances", {
        method: "POST",
        body: { offer_id: offers.offers[0]?.id, disk_size: 10 },
      });
      instanceId = created.id;
      await waitFor(
        "the GPU running",
        async () =>
          (await json<InstanceBody>(`/api/v1/instances/${instanceId}`)).status === "running" ? true : undefined,
        60_000,
      );
      associationId = (
        await json<Association>("/api/v1/standby/associations", {
          method: "POST",
          body: { instance_id: instanceId, sync_interval_s: 5 },
        })
      ).id;
      const synced = await waitFor(
        "the standby syncing",
        async () => {
          const a = await association();
          return a.status === "syncing" ? a : undefined;
        },
        60_000,
      );
      await exec(
        await active(),
        "mkdir -p /workspace/data/nested && echo written-before-the-crash > /workspace/data/nested/note.txt && head -c 262144 /dev/urandom > /workspace/data/weights.bin",
      );
      const written = await digest(await active());
      await waitFor(
        "the file on the standby",
        async () => ((await digest(cpuOf(synced)).catch(() => "")) === written ? true : undefined),
        30_000,
      );

      const lost = await killGpuHost();
      await diedOfDrill(doomed, "the drill to kill the server right after the switch");

      await start();
      const recovered = await recoveredFrom(lost.id);
      expect(await exec(await active(), "cat /workspace/data/nested/note.txt")).toBe("written-before-the-crash\n");
      expect(await digest(await active())).toBe(written);
      // The lost GPU the dead server never got to delete is gone, at the server and at the market.
      await waitFor(
        "the lost GPU destroyed",
        async () =>
          (await json<InstanceBody>(`/api/v1/instances/${lost.id}`)).status === "destroyed" ? true : undefined,
        30_000,
      );
      const rented = (await sim<SimState>("/sim/state")).instances.map((i) => String(i.id));
      expect(rented).not.toContain(lost.machine_id);
      expect(await marketMatchesServer()).toEqual([
        (await json<InstanceBody>(`/api/v1/instances/${recovered.gpu_instance_id}`)).machine_id,
      ]);
      const vms = await standbyVms();
      expect(vms.map((vm) => vm.name)).toEqual([recovered.vm_name]);
      expect(vms[0]?.status).toBe("RUNNING");
      const report = await json<FailoverReport>(`/api/v1/standby/failovers?association_id=${associationId}`);
      expect(report).toMatchObject({ total: 1, succeeded: 1 });
      // The switch the dead server made is measured although it never recorded it.
      expect(Object.keys(report.failovers[0]?.phases_ms ?? {})).toEqual(
        expect.arrayContaining(["detect", "switch", "provision", "restore", "verify"]),
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "adopts the recovery's race after a crash right after it started, and rents no second one",
    async () => {
      await server?.kill("SIGTERM");
      const doomed = await start("after_race_started");
      const before = (await json<{ deployments: Deployment[] }>("/api/v1/wizard/deployments")).deployments;
      const lost = await killGpuHost();
      await diedOfDrill(doomed, "the drill to kill the server right after the race started");

      await start();
      const raced = (await json<{ deployments: Deployment[] }>("/api/v1/wizard/deployments")).deployments;
      expect(raced.length).toBe(before.length + 1);
      const race = raced.find((d) => !before.some((b) => b.id === d.id));
      const recovered = await recoveredFrom(lost.id);
      const after = (await json<{ deployments: Deployment[] }>("/api/v1/wizard/deployments")).deployments;
      expect(after.map((d) => d.id).sort()).toEqual(raced.map((d) => d.id).sort());
      expect(after.find((d) => d.id === race?.id)?.winner_instance_id).toBe(recovered.gpu_instance_id);
      expect(await exec(await active(), "cat /workspace/data/nested/note.txt")).toBe("written-before-the-crash\n");
      // The race's losers and the lost GPU are gone: the market holds exactly the server's live GPUs.
      expect(await marketMatchesServer()).toHaveLength(1);
      expect((await standbyVms()).length).toBe(1);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "redoes a restore the crash cut short, verifies it, and switches back",
    async () => {
      await server?.kill("SIGTERM");
      const doomed = await start("mid_restore");
      const lost = await killGpuHost();
      // Work goes on while the CPU serves (the race takes seconds): it must reach the new GPU too.
      const serving = await waitFor(
        "the standby serving",
        async () => {
          const a = await association().catch(() => undefined);
          return a && a.active.role === "cpu" ? a : undefined;
        },
        30_000,
      );
      await exec(cpuOf(serving), "echo written-on-the-cpu > /workspace/data/cpu.txt");
      await diedOfDrill(doomed, "the drill to kill the server after the restore");

      await start();
      const recovered = await recoveredFrom(lost.id);
      const gpu = await active();
      expect(await digest(gpu)).toBe(await digest(cpuOf(recovered)));
      expect(await exec(gpu, "cat /workspace/data/nested/note.txt")).toBe("written-before-the-crash\n");
      expect(await exec(gpu, "cat /workspace/data/cpu.txt")).toBe("written-on-the-cpu\n");
      const { syncs } = await json<{ syncs: { direction: string; ok: boolean }[] }>(
        `/api/v1/standby/associations/${associationId}/syncs?limit=500`,
      );
      // Three recoveries, the last one's restore done twice (once by the server that died).
      expect(syncs.filter((s) => s.direction === "cpu_to_gpu" && s.ok).length).toBeGreaterThanOrEqual(4);
      const report = await json<FailoverReport>(`/api/v1/standby/failovers?association_id=${associationId}`);
      expect(report).toMatchObject({ total: 3, succeeded: 3 });
      expect(await marketMatchesServer()).toHaveLength(1);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "leaves nothing rented once the instance is deleted",
    async () => {
      const { gpu_instance_id: gpuId } = await association();
      await json(`/api/v1/instances/${gpuId}`, { method: "DELETE" });
      await waitFor(
        "the standby destroyed",
        async () => ((await association()).status === "destroyed" ? true : undefined),
        60_000,
      );
      await waitFor(
        "no VM left in the GCP project",
        async () =>
          (await sim<{ instances: SimVm[] }>("/sim/gcp/instances")).instances.length === 0 ? true : undefined,
        30_000,
      );
      await waitFor(
        "no GPU left at the market",
        async () => ((await sim<SimState>("/sim/state")).instances.length === 0 ? true : undefined),
        30_000,
      );
    },
    STEP_TIMEOUT_MS,
  );
});

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMarketplace, type RunningMarketplace } from "@dumont/marketplace";
import { VastProvider } from "@dumont/providers";
import { spawnServer, tempDir, type ServerProcess } from "@dumont/testing";
import { api, externalMarketEnv, registerOn, waitFor } from "./process-client";

interface InstanceBody {
  id: string;
  status: string;
  machine_id: string | null;
  label: string;
  error: string | null;
}

/**
 * The orphan collector against a marketplace that runs outside the servers, as Vast.ai does, and
 * that several control planes may share: it destroys only its own installation's machines, and a
 * server SIGKILLed between "the marketplace rented a machine" and "we recorded it" leaks nothing.
 */
describe("orphan collector", () => {
  let market: RunningMarketplace;
  let provider: VastProvider;
  const processes: ServerProcess[] = [];
  beforeAll(async () => {
    market = await startMarketplace({ dataDir: tempDir(), seed: 3, timeScale: 0.02 });
    provider = new VastProvider({ baseUrl: market.url, apiKey: market.apiKey, simulated: true, backoffMs: 50 });
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    await market.close();
  });

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const server = await spawnServer(env);
    processes.push(server);
    return server;
  }

  /** Offers nobody rents yet (the market lists only those), cheapest first. */
  async function freeOffers(count: number): Promise<string[]> {
    const offers = await provider.searchOffers({ machineType: "on-demand", order: "price", limit: count });
    expect(offers.length).toBe(count);
    return offers.map((o) => o.id);
  }

  async function rent(server: ServerProcess, token: string, offerId: string): Promise<InstanceBody> {
    const { status, body } = await api<InstanceBody>(`${server.url}/api/v1/instances`, {
      method: "POST",
      token,
      body: { offer_id: offerId, disk_size: 10 },
    });
    expect(status).toBe(201);
    return waitFor("machine recorded", async () => {
      const { body: now } = await api<InstanceBody>(`${server.url}/api/v1/instances/${body.id}`, { token });
      return now.machine_id ? now : undefined;
    });
  }

  /** A machine labelled by hand, as a leaked or foreign one would be. */
  async function machineLabelled(label: string): Promise<string> {
    const [offerId] = await freeOffers(1);
    const { machineId } = await provider.createMachine({
      offerId: offerId ?? "",
      image: "ubuntu:22.04",
      diskGb: 10,
      label,
      sshPublicKeys: [],
    });
    return machineId;
  }

  const exists = async (machineId: string) => (await provider.getMachine(machineId)) !== undefined;

  it("leaves another installation's machines alone and still destroys its own orphans", async () => {
    const fast = { DUMONT_ORPHAN_GRACE_S: "1", DUMONT_COLLECT_INTERVAL_S: "1" };
    const first = await start(externalMarketEnv(market, tempDir(), fast));
    const second = await start(externalMarketEnv(market, tempDir(), fast));
    const firstToken = await registerOn(first.url, "first@example.com");
    const secondToken = await registerOn(second.url, "second@example.com");
    const offers = await freeOffers(4);
    const firstInstances = [
      await rent(first, firstToken, offers[0] ?? ""),
      await rent(first, firstToken, offers[1] ?? ""),
    ];
    const secondInstances = [
      await rent(second, secondToken, offers[2] ?? ""),
      await rent(second, secondToken, offers[3] ?? ""),
    ];
    // Labels read dumont:<installation>:<instance id>, short enough for Vast.ai.
    const installationOf = (i: InstanceBody) => /^dumont:([0-9a-f]{10}):(.+)$/.exec(i.label)?.[1];
    for (const i of [...firstInstances, ...secondInstances]) {
      expect(i.label).toBe(`dumont:${installationOf(i) ?? ""}:${i.id}`);
      expect(i.label.length).toBeLessThanOrEqual(64);
    }
    const firstInstallation = installationOf(firstInstances[0] as InstanceBody) ?? "";
    const secondInstallation = installationOf(secondInstances[0] as InstanceBody) ?? "";
    expect(firstInstallation).not.toBe(secondInstallation);

    // A real orphan of the first installation, and an old-format label nobody here owns.
    const orphan = await machineLabelled(`dumont:${firstInstallation}:ins_lostlostlost`);
    const oldForeign = await machineLabelled("dumont:ins_somebodyelses");

    await waitFor("the first installation destroys its orphan", async () =>
      (await exists(orphan)) ? undefined : true,
    );
    // Several more sweeps of both collectors, each past its grace.
    await sleep(4000);
    for (const i of [...firstInstances, ...secondInstances]) {
      expect(await exists(i.machine_id ?? ""), `machine of ${i.id} survives`).toBe(true);
    }
    expect(await exists(oldForeign)).toBe(true);
    expect(second.output()).not.toContain("destroyed orphaned machine");
    expect(first.output()).toContain("destroyed orphaned machine");
    const mentions = (server: ServerProcess) =>
      server
        .output()
        .split("\n")
        .filter((line) => line.includes("old-format label") && line.includes(oldForeign));
    // Logged once per process however many sweeps pass.
    expect(mentions(first)).toHaveLength(1);
    expect(mentions(second)).toHaveLength(1);

    await Promise.all([first.kill(), second.kill()]);
    await provider.destroyMachine(oldForeign);
    for (const i of [...firstInstances, ...secondInstances]) await provider.destroyMachine(i.machine_id ?? "");
  });

  it("finds a machine created just before a crash by its label at once on restart", async () => {
    // A long grace: what finds the machine is the instance controller, not the collector.
    const env = externalMarketEnv(market, tempDir(), { DUMONT_ORPHAN_GRACE_S: "120" });
    const doomed = await start({ ...env, DUMONT_DRILL_KILL_AFTER_MACHINE_CREATE: "1" });
    const token = await registerOn(doomed.url, "crash@example.com");
    const [offerId] = await freeOffers(1);
    const { body: instance } = await api<InstanceBody>(`${doomed.url}/api/v1/instances`, {
      method: "POST",
      token,
      body: { offer_id: offerId, disk_size: 10 },
    });
    await waitFor("the drill to kill the server", () =>
      Promise.resolve(doomed.child.signalCode === "SIGKILL" ? true : undefined),
    );
    const leaked = await provider.listMachines(instance.label);
    expect(leaked).toHaveLength(1);

    const survivor = await start(env);
    const restartedAt = Date.now();
    const adopted = await waitFor("the instance adopts its machine", async () => {
      const { body } = await api<InstanceBody>(`${survivor.url}/api/v1/instances/${instance.id}`, { token });
      return body.machine_id ? body : undefined;
    });
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    expect(adopted.machine_id).toBe(leaked[0]?.id);
    const { body: events } = await api<{ events: { to_status: string; reason: string }[] }>(
      `${survivor.url}/api/v1/events?resource=${instance.id}`,
      { token },
    );
    expect(events.events.find((e) => e.to_status === "booting")?.reason).toMatch(/found machine .* by its label/);
    await waitFor("the adopted machine runs", async () => {
      const { body } = await api<InstanceBody>(`${survivor.url}/api/v1/instances/${instance.id}`, { token });
      return body.status === "running" ? true : undefined;
    });
    await api(`${survivor.url}/api/v1/instances/${instance.id}`, { method: "DELETE", token });
    await waitFor("deleted", async () => ((await exists(adopted.machine_id ?? "")) ? undefined : true));
    await survivor.kill();
  });

  it("keeps the grace in the database: a restart does not start it over", async () => {
    const home = tempDir();
    // The first process only notes the orphan (its grace is long); the second has a short grace
    // and a long interval, so only its first sweep, soon after start, can destroy it in time.
    const noting = await start(externalMarketEnv(market, home, { DUMONT_ORPHAN_GRACE_S: "600" }));
    const token = await registerOn(noting.url, "grace@example.com");
    const [offerId] = await freeOffers(1);
    const probe = await rent(noting, token, offerId ?? "");
    const installation = probe.label.split(":")[1] ?? "";
    const orphan = await machineLabelled(`dumont:${installation}:ins_gracegrace`);
    await sleep(9000);
    expect(await exists(orphan)).toBe(true);
    await noting.kill("SIGKILL");

    const restarted = await start(
      externalMarketEnv(market, home, { DUMONT_ORPHAN_GRACE_S: "8", DUMONT_COLLECT_INTERVAL_S: "30" }),
    );
    const readyAt = Date.now();
    await waitFor("the orphan destroyed", async () => ((await exists(orphan)) ? undefined : true), 20_000);
    // Counted from the first process's sighting (≈ 10 s ago), not from this start (8 s more).
    expect(Date.now() - readyAt).toBeLessThan(5000);
    expect(await exists(probe.machine_id ?? "")).toBe(true);
    await restarted.kill();
    await provider.destroyMachine(probe.machine_id ?? "");
  });
});

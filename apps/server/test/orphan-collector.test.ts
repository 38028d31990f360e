import { afterAll, describe, expect, it } from "vitest";
import { startMarketplace, type RunningMarketplace } from "@dumont/marketplace";
import { VastProvider } from "@dumont/providers";
import { spawnServer, tempDir, type ServerProcess } from "@dumont/testing";
import { api, externalMarketEnv, registerOn, waitFor } from "./process-client";

/**
 * A server SIGKILLed between "the marketplace rented a machine" and "we recorded it" must not
 * leak it: after restart the instance is failed and the collector destroys the labelled orphan.
 * The market runs outside the server, as Vast.ai does.
 */
describe("orphan collector", () => {
  let market: RunningMarketplace | undefined;
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    await market?.close();
  });

  it("destroys a machine created just before a crash", async () => {
    market = await startMarketplace({ dataDir: tempDir(), seed: 3, timeScale: 0.02 });
    const provider = new VastProvider({ baseUrl: market.url, apiKey: market.apiKey, simulated: true, backoffMs: 50 });
    const env = externalMarketEnv(market, tempDir(), { DUMONT_ORPHAN_GRACE_S: "1" });
    const doomed = await spawnServer({ ...env, DUMONT_DRILL_KILL_AFTER_MACHINE_CREATE: "1" });
    processes.push(doomed);
    const session = { token: await registerOn(doomed.url, "orphan@example.com") };
    const { body: offers } = await api<{ offers: { id: string }[] }>(
      `${doomed.url}/api/v1/instances/offers?max_price=3`,
      { token: session.token },
    );
    const { body: instance } = await api<{ id: string }>(`${doomed.url}/api/v1/instances`, {
      method: "POST",
      token: session.token,
      body: { offer_id: offers.offers[0]?.id, disk_size: 10 },
    });
    await waitFor("the drill to kill the server", () =>
      Promise.resolve(doomed.child.signalCode === "SIGKILL" ? true : undefined),
    );
    const orphans = await provider.listMachines(`dumont:${instance.id}`);
    expect(orphans).toHaveLength(1);

    const survivor = await spawnServer(env);
    processes.push(survivor);
    const failed = await waitFor("instance failed", async () => {
      const { body } = await api<{ status: string; error: string }>(`${survivor.url}/api/v1/instances/${instance.id}`, {
        token: session.token,
      });
      return body.status === "failed" ? body : undefined;
    });
    expect(failed.error).toMatch(/stopped while renting/);
    await waitFor(
      "orphan destroyed",
      async () => ((await provider.listMachines("dumont:")).length === 0 ? true : undefined),
      30_000,
    );
    expect(await provider.getMachine(orphans[0]?.id ?? "")).toBeUndefined();
    // The collector logs after the marketplace confirmed the destroy, so the line may lag a little.
    await waitFor("the collector's log line", () =>
      Promise.resolve(survivor.output().includes("destroyed orphaned machine") ? true : undefined),
    );
  });
});

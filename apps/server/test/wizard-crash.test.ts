import { afterAll, describe, expect, it } from "vitest";
import { startMarketplace, type RunningMarketplace } from "@dumont/marketplace";
import { VastProvider } from "@dumont/providers";
import { spawnServer, tempDir, type ServerProcess } from "@dumont/testing";
import { api, externalMarketEnv, registerOn, waitFor } from "./process-client";

interface DeploymentBody {
  id: string;
  status: string;
  winner_instance_id: string | null;
  candidates: { instance_id: string; status: string }[];
}

/**
 * SIGKILL the server in the middle of a race, start it again: the race resumes, one winner is kept
 * (or none), and every other machine the race rented is destroyed. The market outlives the
 * server, as Vast.ai does.
 */
describe("wizard crash and resume", () => {
  let market: RunningMarketplace | undefined;
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    await market?.close();
  });

  it("keeps only the winner after a SIGKILL mid-race", async () => {
    market = await startMarketplace({ dataDir: tempDir(), seed: 5, profile: "flaky", timeScale: 0.05 });
    const provider = new VastProvider({ baseUrl: market.url, apiKey: market.apiKey, simulated: true, backoffMs: 50 });
    const env = externalMarketEnv(market, tempDir(), { DUMONT_INSTANCE_POLL_MS: "200", DUMONT_ORPHAN_GRACE_S: "2" });
    const first = await spawnServer(env);
    processes.push(first);
    const session = { token: await registerOn(first.url, "race@example.com") };
    const { body: started } = await api<DeploymentBody>(`${first.url}/api/v1/wizard/deploy`, {
      method: "POST",
      token: session.token,
      body: { speed: "any", max_price: 3, disk_size: 10, batch_timeout_seconds: 2 },
    });
    // Kill it once machines are rented and booting.
    await waitFor("candidates rented", async () => {
      const { body } = await api<DeploymentBody>(`${first.url}/api/v1/wizard/deployments/${started.id}`, {
        token: session.token,
      });
      return body.candidates.length >= 3 ? body : undefined;
    });
    await first.kill("SIGKILL");

    const second = await spawnServer(env);
    processes.push(second);
    const done = await waitFor(
      "deployment finished",
      async () => {
        const { body } = await api<DeploymentBody>(`${second.url}/api/v1/wizard/deployments/${started.id}`, {
          token: session.token,
        });
        return ["completed", "failed", "cancelled"].includes(body.status) ? body : undefined;
      },
      60_000,
    );
    const keep = done.status === "completed" ? done.winner_instance_id : null;
    await waitFor(
      "only the winner left on the market",
      async () => {
        // Labels read `dumont:<installation>:<instance id>`.
        const ids = (await provider.listMachines("dumont:")).map((m) => (m.label ?? "").split(":").pop());
        const expected = keep ? [keep] : [];
        return JSON.stringify(ids) === JSON.stringify(expected) ? true : undefined;
      },
      30_000,
    );
    expect(
      done.candidates.filter((c) => c.instance_id !== keep).every((c) => ["destroyed", "failed"].includes(c.status)),
    ).toBe(true);
  });
});

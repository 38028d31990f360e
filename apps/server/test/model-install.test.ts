import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface InstanceBody {
  id: string;
  status: string;
  machine_id: string | null;
  error: string | null;
}

interface InstallBody {
  success: boolean;
  model: string;
  ollama_installed_now: boolean;
  error: string | null;
  output: string;
}

/**
 * `model install` reports failure, with the reason, whenever a step fails: a download of the
 * Ollama installer that fails (it used to be piped into `sh`, which then succeeded on empty
 * input), and a pull the registry refuses.
 */
describe("model install", () => {
  let server: InProcessServer;
  let user: Account;
  let instance: InstanceBody;

  beforeAll(async () => {
    server = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        DUMONT_INSTANCE_POLL_MS: "200",
        // Nothing listens on port 9: the installer download fails at once, and no real Ollama is
        // ever installed on the test host.
        DUMONT_OLLAMA_INSTALL_URL: "http://127.0.0.1:9/install.sh",
      },
    });
    user = await registerAccount(server.app, "models");
    const offers = (
      await server.app.inject({ url: "/api/v1/instances/offers?max_price=3&limit=1", headers: bearer(user.token) })
    ).json<{ offers: { id: string }[] }>();
    const created = await server.app.inject({
      method: "POST",
      url: "/api/v1/instances",
      headers: bearer(user.token),
      payload: { offer_id: offers.offers[0]?.id, disk_size: 10 },
    });
    const { id } = created.json<InstanceBody>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      instance = (await server.app.inject({ url: `/api/v1/instances/${id}`, headers: bearer(user.token) })).json();
      if (instance.status === "running") break;
      if (Date.now() > deadline) throw new Error(`instance stuck in ${instance.status}: ${instance.error ?? ""}`);
      await sleep(100);
    }
  });
  afterAll(async () => {
    await server.close();
  });

  const install = async (model: string) => {
    const response = await server.app.inject({
      method: "POST",
      url: `/api/v1/instances/${instance.id}/models`,
      headers: bearer(user.token),
      payload: { model },
    });
    expect(response.statusCode).toBe(200);
    return response.json<InstallBody>();
  };

  it("reports a pull the registry refuses as failed, with the reason", async () => {
    const result = await install("sim-unreachable:1b");
    expect(result.success).toBe(false);
    expect(result.error).toMatch(/^ollama pull failed: .*no such host/);
    // A model that downloads still installs.
    const good = await install("qwen2.5:0.5b");
    expect(good).toMatchObject({ success: true, error: null, ollama_installed_now: false });
  });

  it("fails when the Ollama installer cannot be downloaded, and does not claim it installed", async () => {
    // A machine whose image has no Ollama: the simulated market's stand-in is removed on the host
    // side (inside, the sandbox sees its tools read-only).
    const standIn = join(server.home, "market", "instances", instance.machine_id ?? "", "sim", "bin", "ollama");
    expect(existsSync(standIn)).toBe(true);
    rmSync(standIn);
    const result = await install("qwen2.5:0.5b");
    expect(result.success).toBe(false);
    expect(result.ollama_installed_now).toBe(false);
    expect(result.error).toMatch(/^could not download the Ollama installer/);
    expect(result.output).not.toContain("ollama installed now");
  });
});

import { existsSync } from "node:fs";
import { SPEED_TIERS } from "@dumont/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPythonImage } from "../src/sandbox/image-tools";
import {
  generateKey,
  getInstance,
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

/** Polls a result_url the way the official CLI does: a plain GET with no key, until 200. */
async function fetchResult(url: string): Promise<string> {
  return waitFor(`result at ${url}`, async () => {
    const response = await fetch(url);
    return response.status === 200 ? response.text() : undefined;
  });
}

describe("the default market has every speed tier", () => {
  let t: TestMarket;
  beforeAll(async () => {
    // The default market: seed 1, 300 machines.
    t = await startTestMarket();
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists rentable offers in slow, medium, fast and ultra, as the control plane queries them", async () => {
    for (const [tier, band] of Object.entries(SPEED_TIERS)) {
      // The Vast provider sends a tier as inet_down gte min, lt max.
      const inet: Record<string, number> = { gte: band.minMbps };
      if (band.maxMbps !== undefined) inet.lt = band.maxMbps;
      const found = await t.call(
        "POST",
        "/api/v0/bundles/",
        { inet_down: inet, rentable: { eq: true }, limit: 1000 },
        null,
      );
      const offers = rows(found.body.offers);
      expect(offers.length, tier).toBeGreaterThanOrEqual(5);
      for (const offer of offers) {
        expect(offer.inet_down).toBeGreaterThanOrEqual(band.minMbps);
        if (band.maxMbps !== undefined) expect(offer.inet_down).toBeLessThan(band.maxMbps);
      }
    }
  });
});

describe("machines run images as users expect", () => {
  it("treats PyTorch and Python images as having python", () => {
    for (const image of [
      "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime",
      "python:3.11-slim",
      "nvcr.io/nvidia/pytorch:24.05-py3",
      "vastai/base-image:@vastai-automatic-tag",
      "continuumio/miniconda3",
      "localhost:5000/team/torch-train:v1",
    ]) {
      expect(isPythonImage(image), image).toBe(true);
    }
    for (const image of ["ubuntu:22.04", "nvidia/cuda:12.4.1-base-ubuntu22.04", "ollama/ollama", "alpine"]) {
      expect(isPythonImage(image), image).toBe(false);
    }
  });

  let t: TestMarket;
  let key: KeyPair;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 13 });
    key = await generateKey(t.dir);
  });
  afterAll(async () => {
    await t.close();
  });

  it("has python and pip in a PyTorch image, and no python in a plain Ubuntu one", async () => {
    const torch = await runningInstance(t, key, { image: "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime" });
    const py = await ssh(torch, key, "python -c 'import sys; print(sys.version_info[0])'");
    expect(py).toMatchObject({ code: 0, stdout: "3\n" });
    const pip = await ssh(torch, key, "pip --version");
    expect(pip.code, pip.stderr).toBe(0);
    expect(pip.stdout).toMatch(/^pip \d+/);
    // The shims are the market's: read-only inside, a user cannot replace them.
    const overwrite = await ssh(torch, key, 'echo x > "$(command -v python)"');
    expect(overwrite.code).not.toBe(0);

    const ubuntu = await runningInstance(t, key, { image: "ubuntu:22.04" });
    const none = await ssh(ubuntu, key, "command -v python");
    // Only where the host itself has no `python` (a machine here shows the host's /usr).
    if (!existsSync("/usr/bin/python") && !existsSync("/usr/local/bin/python")) expect(none.code).not.toBe(0);
    expect((await ssh(ubuntu, key, "command -v python3")).code).toBe(0);
  });

  it("executes ls, rm and du in the machine (no shell), fetched from result_url without a key", async () => {
    const rented = await runningInstance(t, key, { image: "vastai/base-image" });
    expect((await ssh(rented, key, "mkdir -p data && echo hi > data/a.txt && echo hi > data/b.txt")).code).toBe(0);
    const execute = async (command: string) => {
      const reply = await t.call("PUT", `/api/v0/instances/command/${rented.id}/`, { command });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ success: true, writeable_path: "/workspace" });
      return fetchResult(String(reply.body.result_url));
    };
    expect(await execute("ls data")).toBe("a.txt\nb.txt\n");
    expect(await execute("du -s data")).toMatch(/^\d+\tdata\n$/);
    await execute("rm data/a.txt");
    expect((await ssh(rented, key, "ls data")).stdout).toBe("b.txt\n");
    // No shell: `;` and `$(…)` are plain arguments to ls, nothing else runs.
    const injected = await execute("ls data ; touch /workspace/pwned $(touch /workspace/pwned2)");
    expect(injected).toContain("No such file");
    expect((await ssh(rented, key, "ls /workspace")).stdout).not.toContain("pwned");
    // It runs inside the machine: the host's /home and the market's data are not there.
    expect(await execute("ls /home")).toContain("No such file");
    expect(await execute(`ls ${t.dir}`)).toContain("No such file");
  });

  it("serves container logs with onstart's output and daemon logs, with tail and filter", async () => {
    const rented = await runningInstance(t, key, {
      image: "vastai/base-image",
      onstart: "echo hello-from-onstart; echo second-line",
    });
    await waitFor("onstart output", async () => {
      const done = await ssh(rented, key, "cat /root/onstart.log");
      return done.stdout.includes("second-line") ? true : undefined;
    });
    const logs = async (body: Record<string, unknown>) => {
      const reply = await t.call("PUT", `/api/v0/instances/request_logs/${rented.id}/`, body);
      expect(reply.status, reply.text).toBe(200);
      return fetchResult(String(reply.body.result_url));
    };
    const container = await logs({});
    expect(container).toContain("container started from vastai/base-image");
    expect(container).toContain("hello-from-onstart\nsecond-line\n");
    expect(await logs({ tail: "1" })).toBe("second-line\n");
    expect(await logs({ filter: "hello" })).toBe("hello-from-onstart\n");
    const daemon = await logs({ daemon_logs: "true" });
    expect(daemon).toContain("loading -> running");
    expect(daemon).not.toContain("hello-from-onstart");
  });

  it("puts the account's env vars into machines created afterwards", async () => {
    expect((await t.call("POST", "/api/v0/secrets/", { key: "WANDB_API_KEY", value: "wb-123" })).status).toBe(200);
    const rented = await runningInstance(t, key, { image: "vastai/base-image", env: { OWN: "yes" } });
    const env = await ssh(rented, key, 'echo "$WANDB_API_KEY $OWN"');
    expect(env.stdout).toBe("wb-123 yes\n");
  });

  it("recycles a machine: a fresh container from the image, the GPU kept, the old disk gone", async () => {
    const rented = await runningInstance(t, key, { image: "vastai/base-image" });
    expect((await ssh(rented, key, "echo old > /workspace/old.txt")).code).toBe(0);
    const other = await t.call("POST", "/sim/accounts", { api_key: "recycle-other-key-012345" });
    expect(other.status).toBe(200);
    const foreign = await t.call("PUT", `/api/v0/instances/recycle/${rented.id}/`, {}, "recycle-other-key-012345");
    expect(foreign.status).toBe(400);
    expect(foreign.body).toMatchObject({ success: false, error: "invalid_id" });
    const recycled = await t.call("PUT", `/api/v0/instances/recycle/${rented.id}/`, {});
    expect(recycled.body).toEqual({ success: true });
    const seen = await getInstance(t, rented.id);
    expect(seen.cur_state).toBe("running");
    expect(["recycling", "loading"]).toContain(seen.actual_status);
    const back = await waitForInstance(t, rented.id, (i) => i.actual_status === "running");
    const again = { host: rented.host, port: sshEndpoint(back).port };
    expect((await ssh(again, key, "ls /workspace")).stdout).toBe("");
  });
});

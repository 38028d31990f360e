import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";
import { KNOWN_GPU_NAMES, matchGpuName } from "@dumont/core";
import { GPU_MODELS } from "../../marketplace/src/market/gpu-catalog";
import { expectError } from "./helpers";

/**
 * Names as users type them: every route reads `vast` as `vast.ai` and refuses an unknown
 * provider; every route that takes a GPU name reads `rtx4090`, `4090`… as the market's `RTX 4090`
 * and refuses `H100` (several models) with the choices. Job fields of another source are refused.
 */
describe("names as users type them, read the same by every route", () => {
  let server: InProcessServer;
  let user: Account;

  beforeAll(async () => {
    server = await startInProcessServer({});
    user = await registerAccount(server.app, "names");
  });
  afterAll(async () => {
    await server.close();
  });

  const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: object) =>
    server.app.inject({ method, url, headers: bearer(user.token), ...(payload ? { payload } : {}) });

  it("knows every GPU the simulated market lists, and reads typed names as the market spells them", () => {
    for (const model of GPU_MODELS) expect(KNOWN_GPU_NAMES, model.name).toContain(model.name);
    const read = (typed: string) => matchGpuName(typed);
    for (const typed of ["RTX4090", "rtx 4090", "4090", "rtx_4090", "NVIDIA GeForce RTX 4090"])
      expect(read(typed), typed).toEqual({ kind: "known", name: "RTX 4090" });
    expect(read("3090")).toEqual({ kind: "known", name: "RTX 3090" });
    expect(read("t4")).toEqual({ kind: "known", name: "Tesla T4" });
    expect(read("l40s")).toEqual({ kind: "known", name: "L40S" });
    expect(read("H100")).toEqual({ kind: "ambiguous", choices: ["H100 PCIE", "H100 SXM", "H100 NVL"] });
    expect(read("A100").kind).toBe("ambiguous");
    expect(read("RTX 9999")).toEqual({ kind: "unknown", name: "RTX 9999" });
  });

  it("reads vast as vast.ai on every history and blacklist route, and refuses an unknown provider", async () => {
    const added = await inject("POST", "/api/v1/machines/history/blacklist", {
      provider: "Vast",
      machine_id: "m-1",
      reason: "typed loosely",
    });
    expect(added.statusCode).toBe(201);
    expect(added.json<{ provider: string }>().provider).toBe("vast.ai");
    const checked = await inject("GET", "/api/v1/machines/history/blacklist/check/vast/m-1");
    expect(checked.json<{ is_blacklisted: boolean }>().is_blacklisted).toBe(true);
    const listed = await inject("GET", "/api/v1/machines/history/blacklist?provider=vast");
    expect(listed.json<{ count: number }>().count).toBe(1);

    for (const [method, url, payload] of [
      ["GET", "/api/v1/machines/history/summary?provider=runpod"],
      ["GET", "/api/v1/machines/history/attempts?provider=runpod"],
      ["GET", "/api/v1/machines/history/problematic?provider=runpod"],
      ["GET", "/api/v1/machines/history/reliable?provider=runpod"],
      ["GET", "/api/v1/machines/history/stats/runpod/m-1"],
      ["GET", "/api/v1/machines/history/blacklist?provider=runpod"],
      ["GET", "/api/v1/machines/history/blacklist/check/runpod/m-1"],
      ["DELETE", "/api/v1/machines/history/blacklist/runpod/m-1"],
      ["POST", "/api/v1/machines/history/blacklist", { provider: "runpod", machine_id: "m", reason: "r" }],
    ] as const) {
      const error = expectError(await inject(method, url, payload), 400, "VALIDATION_FAILED");
      expect(error.message, url).toContain('unknown provider "runpod": use vast.ai');
    }
    const removed = await inject("DELETE", "/api/v1/machines/history/blacklist/VAST/m-1");
    expect(removed.json<{ removed: number }>().removed).toBe(1);
  });

  it("normalises GPU names on offers, the wizard and jobs, and lists the choices of an ambiguous one", async () => {
    const offers = await inject("GET", "/api/v1/instances/offers?gpu_name=rtx4090&limit=3");
    const body = offers.json<{ offers: { gpu_name: string }[]; empty_reason: string | null }>();
    expect(body.offers.length).toBeGreaterThan(0);
    expect(body.offers.every((o) => o.gpu_name === "RTX 4090")).toBe(true);
    expect(body.empty_reason).toBeNull();

    for (const [method, url, payload] of [
      ["GET", "/api/v1/instances/offers?gpu_name=H100"],
      ["GET", "/api/v1/wizard/offers?gpu_name=H100"],
      ["POST", "/api/v1/wizard/deploy", { gpu_name: "H100" }],
      ["POST", "/api/v1/jobs", { name: "j", command: "true", gpu_type: "h100" }],
    ] as const) {
      const error = expectError(await inject(method, url, payload), 400, "VALIDATION_FAILED");
      expect(error.message, url).toContain("matches several GPUs: H100 PCIE, H100 SXM, H100 NVL");
    }
  });

  it("refuses job fields of another source instead of ignoring them", async () => {
    for (const [payload, field] of [
      [{ git_url: "https://example.com/r.git" }, "git_url"],
      [{ git_branch: "main" }, "git_branch"],
      [{ source: "git", git_url: "https://example.com/r.git", hf_repo: "a/b" }, "hf_repo"],
      [{ source: "huggingface", hf_repo: "a/b", git_branch: "main" }, "git_branch"],
      [{ hf_token: "secret-token" }, "hf_token"],
    ] as const) {
      const error = expectError(
        await inject("POST", "/api/v1/jobs", { name: "j", command: "true", ...payload }),
        400,
        "VALIDATION_FAILED",
      );
      expect(error.message, field).toMatch(new RegExp(`${field}: only for source (git|huggingface)`));
    }
  });
});

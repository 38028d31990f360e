import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliSession, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

/** `dumont server` with no key (embedded simulated market), driven only through the CLI. */
describe("dumont instance … against the embedded marketplace", () => {
  let server: ServerProcess;
  const configHome = tempDir("dumont-cli-config-");
  const { run, json } = cliSession(() => ({ XDG_CONFIG_HOME: configHome, DUMONT_API_URL: server.url }));
  const waitStatus = async (id: string, status: string) => {
    for (let i = 0; i < 300; i++) {
      const instance = await json<{ status: string; error: string | null }>(["instance", "get", id]);
      if (instance.status === status) return instance;
      if (instance.status === "failed") throw new Error(`instance failed: ${instance.error ?? ""}`);
      await sleep(150);
    }
    throw new Error(`instance ${id} never reached ${status}`);
  };

  beforeAll(async () => {
    server = await spawnServer({
      DUMONT_HOME: tempDir(),
      DUMONT_MARKET_TIME_SCALE: "0.02",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
      DUMONT_JOB_POLL_MS: "300",
    });
    await run(["auth", "register", "gpu@example.com", "correct horse battery"]);
  });
  afterAll(async () => {
    await server.kill();
  });

  it("finds offers with the test preset, rents one, pauses, resumes and deletes it", async () => {
    const human = await run(["instance", "offers", "--preset", "test", "--limit", "5"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("SIMULATED local marketplace");
    expect(human.stdout).toMatch(/OFFER\s+GPU/);

    const { offers } = await json<{ offers: { id: string; dph_total: number }[] }>([
      "instance",
      "offers",
      "preset=test",
      "limit=3",
    ]);
    expect(offers.length).toBeGreaterThan(0);
    expect(offers.every((o) => o.dph_total < 0.1)).toBe(true);

    const created = await json<{ id: string }>([
      "instance",
      "create",
      offers[0]?.id ?? "",
      "--disk",
      "10",
      "--no-ssh-key-check",
    ]);
    const running = await waitStatus(created.id, "running");
    expect(running).toMatchObject({ status: "running" });
    const details = await run(["instance", "get", created.id]);
    expect(details.stdout).toMatch(/Connect:\s+ssh -p \d+ root@127\.0\.0\.1/);

    const list = await run(["instance", "list", "status=running"]);
    expect(list.stdout).toContain(created.id);

    expect((await run(["instance", "pause", created.id])).code).toBe(0);
    await waitStatus(created.id, "paused");
    expect((await run(["instance", "resume", created.id])).code).toBe(0);
    await waitStatus(created.id, "running");
    expect((await run(["instance", "delete", created.id, "--yes"])).code).toBe(0);
    await waitStatus(created.id, "destroyed");
    expect((await run(["instance", "list"])).stdout).not.toContain(created.id);
  });

  it("manages SSH keys and refuses a private key file", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "id.pub"),
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop\n",
    );
    writeFileSync(
      join(dir, "id"),
      "-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    const added = await json<{ id: string }>(["ssh-key", "add", join(dir, "id.pub")]);
    expect((await run(["ssh-key", "list"])).stdout).toContain("id.pub");
    const refused = await run(["ssh-key", "add", join(dir, "id")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is a private key");
    expect((await run(["ssh-key", "remove", added.id])).code).toBe(0);
  });

  it("rejects unknown key=value filters as a usage problem", async () => {
    const result = await run(["instance", "offers", "colour=blue"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown key "colour"');
  });

  it("deploys with the wizard, showing the race, and ends with the SSH command", async () => {
    const result = await run([
      "wizard",
      "deploy",
      "speed=any",
      "price=3",
      "--disk",
      "10",
      "--batch-timeout",
      "3",
      "--no-ssh-key-check",
    ]);
    expect(result.code).toBe(0);
    // Progress is on stderr (plain lines: not a terminal); stdout is the summary.
    expect(result.stderr).toMatch(/Deployment dep_\w+ started \(race\)/);
    expect(result.stderr).toMatch(/batch 1 .*: running/);
    expect(result.stdout).toMatch(/Ready in [\d.]+ s\. Connect:\s+ssh -p \d+ root@127\.0\.0\.1/);
    const id = /Deployment (dep_\w+)/.exec(result.stderr)?.[1] ?? "";
    const status = await json<{ status: string; winner_instance_id: string }>(["wizard", "status", id]);
    expect(status.status).toBe("completed");
    expect((await run(["instance", "delete", status.winner_instance_id, "--yes"])).code).toBe(0);

    const summary = await run(["history", "summary", "--hours", "1"]);
    expect(summary.stdout).toMatch(/attempts:\s+[1-9]/);
  });

  it("adds, checks, lists and removes a blacklist entry", async () => {
    expect((await run(["blacklist", "add", "vast.ai", "424242", "kept failing", "--hours", "2"])).code).toBe(0);
    expect((await run(["blacklist", "check", "vast.ai", "424242"])).stdout).toContain("is blacklisted: kept failing");
    expect((await run(["blacklist", "list"])).stdout).toContain("424242");
    expect((await run(["blacklist", "remove", "vast.ai", "424242"])).code).toBe(0);
    expect((await run(["blacklist", "check", "vast.ai", "424242"])).stdout).toContain("is not blacklisted");
    const missing = await run(["blacklist", "remove", "vast.ai", "424242"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NOT_FOUND");
  });

  it("runs a job end to end: create, wait (exit code follows the job), logs, download", async () => {
    const created = await json<{ id: string }>([
      "job",
      "create",
      "cli-job",
      "--command=echo from-the-job; mkdir -p /workspace/output; echo artefact > /workspace/output/a.txt",
      "--max-price",
      "3",
      "--disk",
      "10",
      "--env",
      "GREETING=hello there",
    ]);
    const waited = await run(["job", "wait", created.id]);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/status:\s+completed/);
    const logs = await run(["job", "logs", created.id, "--tail", "50"]);
    expect(logs.stdout).toContain("from-the-job");
    const dir = tempDir();
    const download = await run(["job", "download", created.id, dir]);
    expect(download.code).toBe(0);
    expect(readFileSync(join(dir, "workspace/output/a.txt"), "utf8")).toBe("artefact\n");
    expect((await run(["job", "list"])).stdout).toContain(created.id);

    const failing = await json<{ id: string }>([
      "job",
      "create",
      "cli-fail",
      "--command=exit 3",
      "--max-price",
      "3",
      "--disk",
      "10",
    ]);
    const failed = await run(["job", "wait", failing.id]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/exit code:\s+3/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, spawnServer, tempDir, type CliRun, type ServerProcess } from "@dumont/testing";

/**
 * A new user's first hour, as the README's quickstart tells it, through the real `dumont` binary
 * against a real server and its embedded (simulated) market: register, add a key, deploy, log in
 * with the printed ssh command, copy, run a job, download its outputs, pause, resume, delete. Each
 * step checks its exit code, what a person reads (SIMULATED, the key the command needs) and what a
 * script reads (`--json`, errors included). The home directory is fresh, as on a new machine.
 */
describe("the README quickstart, end to end", () => {
  let server: ServerProcess;
  const dumontHome = tempDir("first-hour-dumont-");
  const home = tempDir("first-hour-home-");
  const config = tempDir("first-hour-config-");
  const work = tempDir("first-hour-work-");
  const run = (args: string[], options: { stdin?: string } = {}): Promise<CliRun> =>
    runCli(args, { env: { HOME: home, XDG_CONFIG_HOME: config, DUMONT_API_URL: server.url }, ...options });
  const ok = async (args: string[]): Promise<CliRun> => {
    const result = await run(args);
    expect(result.code, `dumont ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  };
  const json = async <T>(args: string[]): Promise<T> => JSON.parse((await ok(["--json", ...args])).stdout) as T;
  let instanceId = "";

  beforeAll(async () => {
    server = await spawnServer({
      DUMONT_HOME: dumontHome,
      DUMONT_MARKET: "embedded",
      DUMONT_MARKET_TIME_SCALE: "0.02",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
      DUMONT_JOB_POLL_MS: "300",
      // The real default: the first account registers freely and becomes the operator.
      DUMONT_REGISTRATION: "",
    });
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "me", "-f", join(home, ".ssh/id_ed25519")]);
  });
  afterAll(async () => {
    await server.kill();
  });

  it("registers (password on stdin), and the first account is the operator", async () => {
    const registered = await run(["auth", "register", "me@example.com"], { stdin: "correct horse battery\n" });
    expect(registered.code, registered.stderr).toBe(0);
    const me = await json<{ user: { email: string; role: string } }>(["auth", "me"]);
    expect(me.user).toMatchObject({ email: "me@example.com", role: "operator" });
  });

  it("will not rent before the account has an SSH key, and says which command adds one", async () => {
    const refused = await run(["--json", "wizard", "deploy", "RTX 4090", "speed=fast", "price=1.0", "region=EU"]);
    expect(refused.code).toBe(1);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; hint: string } }).error;
    expect(error.code).toBe("SSH_KEY_REQUIRED");
    expect(error.hint).toContain("dumont ssh-key add ~/.ssh/id_ed25519.pub");
    await ok(["ssh-key", "add", join(home, ".ssh/id_ed25519.pub")]);
  });

  it("lists test offers, labelled SIMULATED", async () => {
    const offers = await ok(["instance", "offers", "--preset", "test"]);
    expect(offers.stdout + offers.stderr).toContain("SIMULATED");
  });

  it("deploys with the README's exact line and hands out an ssh command that works", async () => {
    const deployed = await ok(["wizard", "deploy", "RTX 4090", "speed=fast", "price=1.0", "region=EU"]);
    const text = deployed.stdout + deployed.stderr;
    expect(text).toContain("SIMULATED");
    const command = /ssh (-i \S+ )?-p (\d+) root@([\d.]+)/.exec(text);
    expect(command, text).not.toBeNull();
    expect(command?.[1]).toContain(".ssh/id_ed25519");
    const [, , port = "", host = ""] = command ?? [];
    const login = spawnSync(
      "ssh",
      [
        ...["-i", join(home, ".ssh/id_ed25519"), "-p", port],
        ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"],
        `root@${host}`,
        "nvidia-smi -L",
      ],
      { encoding: "utf8", env: { ...process.env, HOME: home } },
    );
    expect(login.status, login.stderr).toBe(0);
    expect(login.stdout).toContain("RTX 4090");

    const list = await json<{ instances: { id: string; status: string; simulated: boolean }[] }>(["instance", "list"]);
    const running = list.instances.filter((i) => i.status === "running");
    expect(running).toHaveLength(1);
    expect(running[0]?.simulated).toBe(true);
    instanceId = running[0]?.id ?? "";
    expect((await ok(["instance", "list"])).stdout).toContain("SIMULATED");
  });

  it("logs in with `instance ssh` and copies with `instance rsync`, never writing ~/.ssh/known_hosts", async () => {
    const smi = await run(["instance", "ssh", instanceId, "--", "nvidia-smi", "-L"]);
    expect(smi.code, smi.stderr).toBe(0);
    expect(smi.stdout).toContain("RTX 4090");
    const exit = await run(["instance", "ssh", instanceId, "--", "exit", "7"]);
    expect(exit.code).toBe(7);

    mkdirSync(join(work, "data"), { recursive: true });
    writeFileSync(join(work, "data/hello.txt"), "hello from my laptop\n");
    await ok(["instance", "rsync", instanceId, `${join(work, "data")}/`, ":data/"]);
    const cat = await ok(["instance", "ssh", instanceId, "--", "cat", "/workspace/data/hello.txt"]);
    expect(cat.stdout).toBe("hello from my laptop\n");
    expect(existsSync(join(home, ".ssh/known_hosts"))).toBe(false);
  });

  it("runs a job, waits for it, and downloads what it wrote", async () => {
    const created = await json<{ id: string }>([
      "job",
      "create",
      "first-job",
      "--command=echo computing; echo 42 > /workspace/output/answer.txt",
      "--disk=10",
    ]);
    const waited = await run(["job", "wait", created.id]);
    expect(waited.code, waited.stdout + waited.stderr).toBe(0);
    expect(waited.stdout + waited.stderr).toContain("SIMULATED");
    const logs = await ok(["job", "logs", created.id]);
    expect(logs.stdout).toContain("computing");
    const into = join(work, "downloaded");
    await ok(["job", "download", created.id, into]);
    expect(readFileSync(join(into, "workspace/output/answer.txt"), "utf8")).toBe("42\n");
    const status = await ok(["job", "status", created.id]);
    expect(status.stdout).toMatch(/\$\d/);
  });

  it("pauses, resumes and deletes (delete wants --yes in a script)", async () => {
    await ok(["instance", "pause", instanceId, "--wait"]);
    await ok(["instance", "resume", instanceId, "--wait"]);
    const again = await run(["instance", "ssh", instanceId, "--", "true"]);
    expect(again.code, again.stderr).toBe(0);
    const unconfirmed = await run(["instance", "delete", instanceId]);
    expect(unconfirmed.code).toBe(2);
    await ok(["instance", "delete", instanceId, "--yes", "--wait"]);
    const gone = await json<{ status: string }>(["instance", "get", instanceId]);
    expect(gone.status).toBe("destroyed");
  });

  it("answers every error as JSON with --json, exit 1 for a failed operation and 2 for a wrong command line", async () => {
    const missing = await run(["--json", "instance", "get", "ins_doesnotexist"]);
    expect(missing.code).toBe(1);
    expect((JSON.parse(missing.stdout) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    const unknown = await run(["--json", "instance", "frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toHaveProperty("error.code");
    const badRegion = await run(["--json", "wizard", "deploy", "region=Narnia"]);
    expect(badRegion.code).toBe(2);
    expect((JSON.parse(badRegion.stdout) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
  });

  it("logs out (the session is revoked) and leaves no machine rented", async () => {
    await ok(["auth", "logout"]);
    const me = await run(["auth", "me"]);
    expect(me.code).toBe(1);
    // Ask the simulated market itself (with its own key, kept in DUMONT_HOME) what is still rented.
    const marketUrl = /"url":"(http:\/\/[^"]+)"[^\n]*GPU market is SIMULATED/.exec(server.output())?.[1];
    const key = readFileSync(join(dumontHome, "market.key"), "utf8").trim();
    const state = (await (
      await fetch(`${marketUrl ?? ""}/sim/state`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { instances: unknown[] };
    expect(state.instances).toEqual([]);
  });
});

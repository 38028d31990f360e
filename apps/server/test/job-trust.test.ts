import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface JobBody {
  id: string;
  status: string;
  exit_code: number | null;
  error_message: string | null;
  attempt: number;
}

const FINAL = ["completed", "failed", "cancelled", "timed_out"];
const LOG_LIMIT = 256 * 1024;

/**
 * A rented machine is hostile: each test here is an attack a job (the user's code, as root on
 * the machine) made on the control plane through what comes back from its machine, and shows it
 * now fails safely. Real server, real simulated market, real SSH and rsync.
 */
describe("what comes back from a job's machine is untrusted", () => {
  let dumont: InProcessServer;
  let user: Account;

  beforeAll(async () => {
    dumont = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        DUMONT_INSTANCE_POLL_MS: "200",
        DUMONT_INSTANCE_IDLE_POLL_MS: "400",
        DUMONT_JOB_POLL_MS: "300",
        DUMONT_CONTROLLER_CONCURRENCY: "64",
        DUMONT_JOB_LOG_MAX_BYTES: String(LOG_LIMIT),
        DUMONT_JOB_OUTPUT_MAX_BYTES: String(1024 * 1024),
        DUMONT_REGISTRATION: "open",
      },
    });
    user = await registerAccount(dumont.app, "trust");
  });
  afterAll(async () => {
    await dumont.close();
  });

  const request = (method: "GET" | "POST", url: string, payload?: Record<string, unknown>) =>
    dumont.app.inject({ method, url, headers: bearer(user.token), ...(payload ? { payload } : {}) });
  const create = async (payload: Record<string, unknown>): Promise<string> => {
    const response = await request("POST", "/api/v1/jobs", { max_price: 3, disk_size: 10, ...payload });
    if (response.statusCode !== 201) throw new Error(`create failed: ${response.body}`);
    return response.json<{ id: string }>().id;
  };
  const waitFor = async (id: string, timeoutMs = 60_000): Promise<JobBody> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await request("GET", `/api/v1/jobs/${id}`)).json<JobBody>();
      if (FINAL.includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} stuck in ${job.status}`);
      await sleep(150);
    }
  };
  const machinesLeft = async () => {
    const provider = await dumont.server.context.markets.providerFor(user.userId);
    return (await provider.listMachines("dumont:")).filter((m) => m.state !== "stopped");
  };
  const walk = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() && !e.isSymbolicLink() ? walk(join(dir, e.name)) : [join(dir, e.name)],
        )
      : [];

  it("keeps no links, devices, setuid bits or foreign owners from outputs, and serves nothing through a link", async () => {
    const secret = join(dumont.home, "secret.key");
    const id = await create({
      name: "links",
      command: [
        "mkdir -p /workspace/output/sub",
        "ln -s / /workspace/output/rootdir",
        `ln -s ${secret} /workspace/output/key`,
        "ln -s /workspace/output/ok.txt /workspace/output/sub/inner-link",
        "echo fine > /workspace/output/ok.txt",
        "cp /bin/true /workspace/output/suid && chmod 6755 /workspace/output/suid",
        "chown 12345:12345 /workspace/output/ok.txt 2>/dev/null || true",
        "mkfifo /workspace/output/fifo",
      ].join(" && "),
    });
    expect((await waitFor(id)).status).toBe("completed");

    const store = join(dumont.home, "jobs", id, "outputs");
    for (const path of walk(store)) {
      const stat = lstatSync(path);
      expect(stat.isFile(), `${path} is a plain file`).toBe(true);
      expect(stat.mode & 0o7777, `${path} mode`).toBe(0o600);
      expect(stat.uid).toBe(process.getuid?.() ?? stat.uid);
    }
    const listed = (await request("GET", `/api/v1/jobs/${id}/outputs`)).json<{ files: { path: string }[] }>();
    expect(listed.files.map((f) => f.path)).toEqual(["/workspace/output/ok.txt", "/workspace/output/suid"]);

    const attempts = [
      `/workspace/output/rootdir${secret}`,
      "/workspace/output/key",
      "/workspace/output/sub/inner-link",
      "/workspace/output/../../../secret.key",
      "/workspace/output/%2e%2e/%2e%2e/%2e%2e/secret.key",
      "/workspace/output/sub",
    ];
    for (const path of attempts) {
      const response = await request("GET", `/api/v1/jobs/${id}/outputs${path}`);
      expect(response.statusCode, path).toBe(404);
      expect(response.body).not.toContain(readFileSync(secret, "utf8").trim());
    }
    expect((await request("GET", `/api/v1/jobs/${id}/outputs/workspace/output/ok.txt`)).body).toBe("fine\n");
    expect(await machinesLeft()).toEqual([]);
  });

  it("refuses output and checkpoint paths that leave /workspace, at create", async () => {
    const bad = [
      { output_paths: ["/../../../../../../etc/passwd"] },
      { output_paths: ["/workspace/../root"] },
      { output_paths: ["/workspace/./output"] },
      { output_paths: ["/etc"] },
      { output_paths: ["workspace/output"] },
      { checkpoint_path: "/workspace/../../" + dumont.home },
      { checkpoint_path: dumont.home },
      { checkpoint_path: "/workspace//ckpt" },
    ];
    for (const fields of bad) {
      const response = await request("POST", "/api/v1/jobs", { name: "escape", command: "true", ...fields });
      expect(response.statusCode, JSON.stringify(fields)).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("refuses git transports that run things or hang, and reserved env names", async () => {
    for (const git_url of ["fd::3", "ext::sh -c touch% /tmp/pwned", "file:///etc", "-uhelp", "/srv/repo.git"]) {
      const response = await request("POST", "/api/v1/jobs", { name: "g", source: "git", git_url, command: "true" });
      expect(response.statusCode, git_url).toBe(400);
    }
    for (const name of ["DUMONT_JOB", "HF_TOKEN", "IFS", "LD_PRELOAD", "BASH_ENV"]) {
      const response = await request("POST", "/api/v1/jobs", { name: "e", command: "true", env: { [name]: "/tmp" } });
      expect(response.statusCode, name).toBe(400);
    }
  });

  it("fails a job whose machine writes a non-integer exit code, and the API keeps answering", async () => {
    const ids = [];
    for (const value of ["1.5", "1e400", "-1", "256", "0x0"]) {
      ids.push(
        await create({
          name: `exit-${value}`,
          command: `echo ${value} > /workspace/.dumont/job/exit_code; sleep 120`,
        }),
      );
    }
    for (const id of ids) {
      const job = await waitFor(id);
      expect(job.status).toBe("failed");
      expect(job.exit_code).toBeNull();
      expect(job.error_message).toContain("invalid exit code");
    }
    expect((await request("GET", "/api/v1/jobs")).statusCode).toBe(200);
    expect(await machinesLeft()).toEqual([]);
  });

  it("keeps a bounded head and tail of a huge log and serves it by range", async () => {
    // 4 MB of numbered lines: far over the 256 KiB the server keeps.
    const id = await create({ name: "loud", command: "seq 1 600000" });
    expect((await waitFor(id, 90_000)).status).toBe("completed");
    const onDisk = walk(join(dumont.home, "jobs", id))
      .filter((p) => p.includes("job.log"))
      .reduce((sum, p) => sum + statSync(p).size, 0);
    expect(onDisk).toBeLessThanOrEqual(LOG_LIMIT * 1.5 + 4096);

    type Page = { logs: string; next_offset: number; size: number; more: boolean; finished: boolean };
    const first = (await request("GET", `/api/v1/jobs/${id}/logs`)).json<Page>();
    expect(first.size).toBeGreaterThan(4_000_000);
    expect(first.logs).toContain("\n1\n2\n3\n");
    expect(first.more).toBe(true);
    const second = (await request("GET", `/api/v1/jobs/${id}/logs?offset=${first.next_offset}`)).json<Page>();
    expect(second.logs).toContain("bytes of log not kept here");
    expect(second.logs).toContain("600000\n");
    const tail = (await request("GET", `/api/v1/jobs/${id}/logs?tail=3`)).json<Page>();
    expect(tail.logs).toMatch(
      /^600000\n\[dumont\] command exited with code 0\n\[dumont\] job completed; machine destroyed\n$/,
    );
  });

  it("fails a job whose outputs exceed the limit, keeping nothing of them", async () => {
    const id = await create({
      name: "big-output",
      command: "head -c 3000000 /dev/urandom > /workspace/output/big.bin",
    });
    const job = await waitFor(id);
    expect(job.status).toBe("failed");
    expect(job.error_message).toMatch(/over the limit of 1\.0 MiB/);
    expect(walk(join(dumont.home, "jobs", id, "outputs"))).toEqual([]);
    expect(await machinesLeft()).toEqual([]);
  });

  it("seals env values at rest; a variable named J no longer redirects the supervisor", async () => {
    const id = await create({
      name: "env",
      command: 'printf "%s" "$API_SECRET" > /workspace/output/secret.txt; echo "J=$J"',
      env: { API_SECRET: "value-that-must-not-be-stored-plain", J: "/tmp/elsewhere" },
    });
    expect((await waitFor(id)).status).toBe("completed");
    const row = await dumont.server.context.repos.jobs.findOwned(user.userId, id);
    expect(JSON.stringify(row)).not.toContain("value-that-must-not-be-stored-plain");
    const file = await request("GET", `/api/v1/jobs/${id}/outputs/workspace/output/secret.txt`);
    expect(file.body).toBe("value-that-must-not-be-stored-plain");
  });

  it("gives a job that finds no machine a provisioning deadline", async () => {
    const slow = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        // Market-scale boot times (tens of seconds): the race is still waiting when the deadline passes.
        DUMONT_MARKET_TIME_SCALE: "1",
        DUMONT_JOB_POLL_MS: "200",
        DUMONT_INSTANCE_POLL_MS: "200",
        DUMONT_JOB_PROVISION_TIMEOUT_S: "2",
        DUMONT_REGISTRATION: "open",
      },
    });
    try {
      const account = await registerAccount(slow.app, "deadline");
      const created = await slow.app.inject({
        method: "POST",
        url: "/api/v1/jobs",
        headers: bearer(account.token),
        payload: { name: "slow-boot", command: "true", max_price: 3, disk_size: 10 },
      });
      const id = created.json<{ id: string }>().id;
      const deadline = Date.now() + 30_000;
      let job: JobBody;
      do {
        await sleep(200);
        job = (
          await slow.app.inject({ method: "GET", url: `/api/v1/jobs/${id}`, headers: bearer(account.token) })
        ).json<JobBody>();
      } while (!FINAL.includes(job.status) && Date.now() < deadline);
      expect(job.status).toBe("timed_out");
      expect(job.error_message ?? "").toContain("no machine was ready");
    } finally {
      await slow.close();
    }
  });

  it("counts a spot winner outbid between the race and setup as a lost attempt, and replaces it", async () => {
    const id = await create({ name: "outbid-early", use_spot: true, max_retries: 2, command: "echo ran" });
    // Outbid the winner while its race is still cleaning up: the job has not touched it yet.
    let deploymentId: string | null = null;
    let winner: string | null = null;
    const deadline = Date.now() + 60_000;
    while (!winner && Date.now() < deadline) {
      await sleep(50);
      deploymentId ??= (await request("GET", `/api/v1/jobs/${id}`)).json<{ deployment_id: string | null }>()
        .deployment_id;
      if (!deploymentId) continue;
      const deployment = (await request("GET", `/api/v1/wizard/deployments/${deploymentId}`)).json<{
        winner_instance_id: string | null;
      }>();
      winner = deployment.winner_instance_id;
    }
    const instance = await dumont.server.context.repos.instances.findById(winner ?? "");
    const market = dumont.server.context.markets.embedded;
    if (!instance?.machine_id || !market) throw new Error("no winner to outbid");
    const outbid = await fetch(`${market.url}/sim/instances/${instance.machine_id}/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${market.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "outbid" }),
    });
    expect(outbid.status).toBeLessThan(300);
    const job = (await waitFor(id, 90_000)) as JobBody & { attempts: { instance_id: string; reason: string }[] };
    expect(job.status).toBe("completed");
    expect(job.attempt).toBe(2);
    expect(job.attempts[0]).toMatchObject({ instance_id: winner });
    expect(job.attempts[0]?.reason).toMatch(/before setup|could not start/);
    expect(await machinesLeft()).toEqual([]);
  }, 120_000);

  it("keeps DUMONT_HOME private: 0700 directories, 0600 files", () => {
    expect(statSync(dumont.home).mode & 0o777).toBe(0o700);
    for (const name of ["dumont.db", "secret.key"]) {
      const path = join(dumont.home, name);
      if (existsSync(path)) expect(statSync(path).mode & 0o777, name).toBe(0o600);
    }
    const jobs = join(dumont.home, "jobs");
    for (const dir of readdirSync(jobs)) {
      expect(statSync(join(jobs, dir)).mode & 0o777).toBe(0o700);
      for (const file of readdirSync(join(jobs, dir)).filter((f) => f.startsWith("job.log")))
        expect(statSync(join(jobs, dir, file)).mode & 0o777, file).toBe(0o600);
    }
  });
});

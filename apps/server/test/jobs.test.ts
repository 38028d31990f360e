import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdirSync, readFileSync, writeFileSync, createReadStream, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MACHINE_REACHABLE_LISTEN_HOST, machineReachableHost } from "@dumont/marketplace";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  tempDir,
  type Account,
  type InProcessServer,
} from "@dumont/testing";

interface JobBody {
  id: string;
  status: string;
  exit_code: number | null;
  error_message: string | null;
  attempt: number;
  instance_id: string | null;
  total_cost: number;
  attempts: { attempt: number; instance_id: string | null; reason: string }[];
}

const FINAL = ["completed", "failed", "cancelled", "timed_out"];

/**
 * A static file server for jobs (git's dumb HTTP protocol, and the Hub's URL layout). It listens
 * where the marketplace's machines can reach the host, and its URL is the one a machine uses: a
 * machine has its own network, where the host's 127.0.0.1 does not exist.
 */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, MACHINE_REACHABLE_LISTEN_HOST, ok));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { url: `http://${machineReachableHost()}:${port}`, server };
}

describe("jobs on the embedded marketplace", () => {
  let dumont: InProcessServer;
  let user: Account;
  const servers: Server[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    dumont = await startInProcessServer({
      env: {
        DUMONT_MARKET: "embedded",
        DUMONT_MARKET_TIME_SCALE: "0.02",
        DUMONT_INSTANCE_POLL_MS: "200",
        DUMONT_INSTANCE_IDLE_POLL_MS: "400",
        DUMONT_JOB_POLL_MS: "300",
        DUMONT_CHECKPOINT_EVERY_S: "1",
        DUMONT_CONTROLLER_CONCURRENCY: "64",
      },
    });
    user = await registerAccount(dumont.app, "jobs");
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await dumont.close();
  });

  const create = async (payload: Record<string, unknown>): Promise<string> => {
    const response = await dumont.app.inject({
      method: "POST",
      url: "/api/v1/jobs",
      headers: bearer(user.token),
      payload: { max_price: 3, disk_size: 10, ...payload },
    });
    if (response.statusCode !== 201) throw new Error(`create failed: ${response.body}`);
    return response.json<{ id: string }>().id;
  };
  const get = async (id: string) =>
    (
      await dumont.app.inject({ method: "GET", url: `/api/v1/jobs/${id}`, headers: bearer(user.token) })
    ).json<JobBody>();
  const waitFor = async (id: string, statuses = FINAL, timeoutMs = 60_000): Promise<JobBody> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await get(id);
      if (statuses.includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} stuck in ${job.status}`);
      await sleep(150);
    }
  };
  const logs = async (id: string) =>
    (await dumont.app.inject({ method: "GET", url: `/api/v1/jobs/${id}/logs`, headers: bearer(user.token) })).json<{
      logs: string;
    }>().logs;
  const machinesLeft = async () => {
    const provider = await dumont.server.context.markets.providerFor(user.userId);
    return (await provider.listMachines("dumont:")).filter((m) => m.state !== "stopped");
  };

  it("runs a command with setup, pip and hostile env values, collects outputs byte-identical, destroys the machine", async () => {
    const hostile = "$(touch /tmp/pwned-env); `id`; 'quote' \"dq\"\nnewline";
    const id = await create({
      name: "basic",
      command:
        'cat /workspace/ready.txt && printf "%s" "$HOSTILE" > /workspace/output/env.txt && head -c 300000 /dev/urandom > /workspace/output/data.bin && echo done',
      setup_script: "echo from-setup > /workspace/ready.txt",
      pip_packages: ["pip"],
      env: { HOSTILE: hostile },
    });
    const job = await waitFor(id);
    expect(job).toMatchObject({ status: "completed", exit_code: 0 });
    expect(await logs(id)).toContain("from-setup");
    expect(existsSync("/tmp/pwned-env")).toBe(false);
    const list = (
      await dumont.app.inject({ method: "GET", url: `/api/v1/jobs/${id}/outputs`, headers: bearer(user.token) })
    ).json<{ files: { path: string; size: number }[] }>();
    expect(list.files.map((f) => f.path)).toEqual(["/workspace/output/data.bin", "/workspace/output/env.txt"]);
    const env = await dumont.app.inject({
      method: "GET",
      url: `/api/v1/jobs/${id}/outputs/workspace/output/env.txt`,
      headers: bearer(user.token),
    });
    expect(env.body).toBe(hostile);
    const data = await dumont.app.inject({
      method: "GET",
      url: `/api/v1/jobs/${id}/outputs/workspace/output/data.bin`,
      headers: bearer(user.token),
    });
    const local = readFileSync(join(dumont.home, "jobs", id, "outputs", "workspace/output/data.bin"));
    expect(data.rawPayload.equals(local)).toBe(true);
    expect(local.length).toBe(300_000);
    expect(await machinesLeft()).toEqual([]);
  });

  it("passes hostile git URLs, branches and pip names as plain arguments", async () => {
    const marker = `/tmp/dumont-pwned-${Date.now()}`;
    const pip = await create({
      name: "hostile-pip",
      command: "true",
      pip_packages: [`x; touch ${marker}-pip`, `$(touch ${marker}-pip2)`],
    });
    const git = await create({
      name: "hostile-git",
      source: "git",
      git_url: `http://127.0.0.1:9/repo.git;touch$IFS${marker}-git`,
      git_branch: `main\n\`touch ${marker}-branch\``,
      command: "true",
    });
    for (const id of [pip, git]) expect((await waitFor(id)).status).toBe("failed");
    for (const suffix of ["-pip", "-pip2", "-git", "-branch"]) expect(existsSync(marker + suffix)).toBe(false);
    expect(await machinesLeft()).toEqual([]);
  });

  it("fails with the command's exit code", async () => {
    const job = await waitFor(await create({ name: "fails", command: "echo about to fail; exit 7" }));
    expect(job).toMatchObject({ status: "failed", exit_code: 7 });
    expect(job.error_message).toContain("7");
  });

  it("times out and destroys the machine", async () => {
    const job = await waitFor(await create({ name: "slow", command: "sleep 600", timeout_minutes: 0.1 }));
    expect(job.status).toBe("timed_out");
    expect(await machinesLeft()).toEqual([]);
  });

  it("cancels while provisioning and while running", async () => {
    const early = await create({ name: "cancel-early", command: "sleep 600" });
    await dumont.app.inject({ method: "POST", url: `/api/v1/jobs/${early}/cancel`, headers: bearer(user.token) });
    const running = await create({ name: "cancel-running", command: "echo started; sleep 600" });
    await waitFor(running, ["running"]);
    await dumont.app.inject({ method: "POST", url: `/api/v1/jobs/${running}/cancel`, headers: bearer(user.token) });
    expect((await waitFor(early)).status).toBe("cancelled");
    expect((await waitFor(running)).status).toBe("cancelled");
    await sleep(500);
    expect(await machinesLeft()).toEqual([]);
  });

  it("clones a git repository at a branch (served on the host, where machines reach it) and runs from it", async () => {
    const work = tempDir();
    const git = (args: string[], cwd: string) =>
      execFileSync("git", args, {
        cwd,
        stdio: "pipe",
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@x",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@x",
        },
      });
    mkdirSync(join(work, "src"));
    git(["init", "-q", "-b", "main"], join(work, "src"));
    writeFileSync(join(work, "src", "run.sh"), "echo from-main\n");
    git(["add", "."], join(work, "src"));
    git(["commit", "-qm", "main"], join(work, "src"));
    git(["checkout", "-qb", "feature/x"], join(work, "src"));
    writeFileSync(join(work, "src", "run.sh"), "echo from-feature-branch > /workspace/output/branch.txt\n");
    git(["commit", "-qam", "feature"], join(work, "src"));
    git(["clone", "-q", "--bare", join(work, "src"), join(work, "repo.git")], work);
    git(["update-server-info"], join(work, "repo.git"));
    const { url, server } = await serve((req, res) => {
      const path = join(work, decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/"));
      if (!path.startsWith(work) || !existsSync(path) || !statSync(path).isFile()) return void res.writeHead(404).end();
      createReadStream(path).pipe(res);
    });
    servers.push(server);
    const id = await create({
      name: "git",
      source: "git",
      git_url: `${url}/repo.git`,
      git_branch: "feature/x",
      command: "sh run.sh",
    });
    const job = await waitFor(id);
    expect(job.status, await logs(id)).toBe("completed");
    const out = await dumont.app.inject({
      method: "GET",
      url: `/api/v1/jobs/${id}/outputs/workspace/output/branch.txt`,
      headers: bearer(user.token),
    });
    expect(out.body).toBe("from-feature-branch\n");
  });

  it("downloads a Hugging Face repo with a token it never logs", async () => {
    const token = "hf_testTokenThatMustNeverBeLogged1234567890";
    const files: Record<string, string> = { "config.json": '{"a":1}', "weights/part1.bin": "W".repeat(5000) };
    const { url, server } = await serve((req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end("unauthorized");
      const path = decodeURIComponent((req.url ?? "").split("?")[0] ?? "");
      const info = /^\/api\/models\/acme\/tiny\/revision\/(.+)$/.exec(path);
      if (info) {
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ siblings: Object.keys(files).map((rfilename) => ({ rfilename })) }));
      }
      const file = /^\/acme\/tiny\/resolve\/[^/]+\/(.+)$/.exec(path);
      const body = file?.[1] ? files[file[1]] : undefined;
      if (body === undefined) return void res.writeHead(404).end();
      res.end(body);
    });
    servers.push(server);
    const id = await create({
      name: "hf",
      source: "huggingface",
      hf_repo: "acme/tiny",
      hf_token: token,
      env: { HF_ENDPOINT: url },
      command:
        "cat config.json > /workspace/output/config.json && wc -c < weights/part1.bin > /workspace/output/size.txt",
    });
    const job = await waitFor(id);
    expect(job.status).toBe("completed");
    const size = await dumont.app.inject({
      method: "GET",
      url: `/api/v1/jobs/${id}/outputs/workspace/output/size.txt`,
      headers: bearer(user.token),
    });
    expect(size.body.trim()).toBe("5000");
    const view = await dumont.app.inject({ method: "GET", url: `/api/v1/jobs/${id}`, headers: bearer(user.token) });
    expect(view.body).not.toContain(token);
    expect(await logs(id)).not.toContain(token);
    const stored = await dumont.server.context.database.db
      .selectFrom("jobs")
      .select(["spec", "hf_token_sealed"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(stored.spec).not.toContain(token);
    expect(stored.hf_token_sealed).not.toContain(token);
    logLines.push(await logs(id));
  });

  it("resumes on another host from its checkpoint when the spot machine is outbid", async () => {
    const command = [
      "mkdir -p /workspace/ckpt",
      "n=$(cat /workspace/ckpt/step 2>/dev/null || echo 0)",
      'echo "resuming at step $n"',
      'while [ "$n" -lt 8 ]; do n=$((n+1)); echo $n > /workspace/ckpt/step; sleep 0.5; done',
      "echo finished-at-$n > /workspace/output/result.txt",
    ].join("\n");
    const id = await create({
      name: "spot",
      use_spot: true,
      checkpoint_path: "/workspace/ckpt",
      command,
      max_retries: 2,
    });
    const first = await waitFor(id, ["running"]);
    await sleep(2500);
    const instance = await dumont.server.context.repos.instances.findById(first.instance_id ?? "");
    const market = dumont.server.context.markets.embedded;
    if (!instance?.machine_id || !market) throw new Error("no machine to outbid");
    const outbid = await fetch(`${market.url}/sim/instances/${instance.machine_id}/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${market.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "outbid" }),
    });
    expect(outbid.status).toBeLessThan(300);
    const job = await waitFor(id, FINAL, 90_000);
    expect(job.status).toBe("completed");
    expect(job.attempt).toBe(2);
    const text = await logs(id);
    expect(text).toMatch(/resuming at step [1-8]/);
    expect(text).toContain("checkpoint restored");
    const result = await dumont.app.inject({
      method: "GET",
      url: `/api/v1/jobs/${id}/outputs/workspace/output/result.txt`,
      headers: bearer(user.token),
    });
    expect(result.body).toBe("finished-at-8\n");
    expect(await machinesLeft()).toEqual([]);
  }, 150_000);
});

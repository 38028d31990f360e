import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliSession, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

const SIMULATED = "SIMULATED";

/**
 * Honest labels and money through the real CLI binary on the embedded (simulated) market: every
 * human output about a machine, a deployment, a job or a model install says SIMULATED; prices say
 * what they include; a fresh instance shows no made-up zeros; a job's cost is broken down per machine.
 */
describe("dumont's human output is honest about the market and the money", () => {
  let server: ServerProcess;
  const configHome = tempDir("dumont-cli-honest-");
  const { run, json } = cliSession(() => ({ XDG_CONFIG_HOME: configHome, DUMONT_API_URL: server.url }));
  const waitInstance = async (id: string, statuses: string[]) => {
    for (let i = 0; i < 400; i++) {
      const instance = await json<{ status: string; error: string | null }>(["instance", "get", id]);
      if (statuses.includes(instance.status)) return instance;
      await sleep(150);
    }
    throw new Error(`instance ${id} never reached ${statuses.join("|")}`);
  };

  beforeAll(async () => {
    server = await spawnServer({
      DUMONT_HOME: tempDir(),
      // Boots of 1–9 s (each host its own): a race's slower candidates lose while still booting.
      DUMONT_MARKET_TIME_SCALE: "0.05",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
      DUMONT_JOB_POLL_MS: "300",
    });
    await run(["auth", "register", "honest@example.com", "correct horse battery"]);
    const keys = tempDir();
    writeFileSync(
      join(keys, "id.pub"),
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop\n",
    );
    await run(["ssh-key", "add", join(keys, "id.pub")]);
  });
  afterAll(async () => {
    await server.kill();
  });

  it("offers say what their price includes; a fresh instance shows its real GPU and price, never 0x pending or $0.000/h", async () => {
    const offers = await run(["instance", "offers", "price=3", "limit=5"]);
    expect(offers.code).toBe(0);
    expect(offers.stdout).toContain(SIMULATED);
    expect(offers.stdout).toContain("compute + storage for a 50 GB disk");
    expect(offers.stdout).toContain("STORAGE $/GB-MO");

    const priced = await json<{ offers: { id: string; dph_total: number; priced_disk_gb: number }[] }>([
      "instance",
      "offers",
      "price=3",
      "limit=3",
      "disk_size=10",
    ]);
    const offer = priced.offers[0];
    expect(offer?.priced_disk_gb).toBe(10);

    const created = await run(["instance", "create", offer?.id ?? "", "--disk", "10"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(SIMULATED);
    expect(created.stdout).not.toMatch(/\b0x\b/);
    expect(created.stdout).not.toContain("pending");
    expect(created.stdout).not.toContain("$0.000/h");
    expect(created.stdout).toContain(`$${(offer?.dph_total ?? 0).toFixed(3)}/h`);
    expect(created.stdout).toMatch(/uptime:\s+— \(not rented yet\)/);
    const id = /^id:\s+(\S+)/m.exec(created.stdout)?.[1] ?? "";

    await waitInstance(id, ["running"]);
    const details = await run(["instance", "get", id]);
    expect(details.stdout).toContain(SIMULATED);
    expect(details.stdout).toMatch(/uptime:\s+\d+s since the create call/);
    expect(details.stdout).toMatch(/cost so far:\s+\$0\.\d+/);
    expect(details.stdout).toMatch(/compute \+ storage for its 10 GB disk/);
    const list = await run(["instance", "list"]);
    expect(list.stdout).toContain(SIMULATED);
    expect(list.stdout).toMatch(/UPTIME\s+COST/);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+running\\s+.*\\$0\\.\\d+`));

    const model = await run(["model", "install", id, "qwen2.5:0.5b"]);
    expect(model.code).toBe(0);
    expect(model.stdout).toContain(SIMULATED);

    expect((await run(["instance", "delete", id, "--yes"])).code).toBe(0);
    await waitInstance(id, ["destroyed"]);
    const ended = await run(["instance", "get", id]);
    expect(ended.stdout).toMatch(/uptime:\s+\d+s from the create call to the confirmed destroy/);
    expect(ended.stdout).toMatch(/cost:\s+\$0\.\d+/);
  });

  it("wizard deploy and status say SIMULATED and what each candidate cost", async () => {
    const deployed = await run([
      "wizard",
      "deploy",
      "speed=any",
      "price=3",
      "--disk",
      "10",
      "batch_size=4",
      "max_batches=1",
    ]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toContain(SIMULATED);
    const deploymentId = /(dep_\w+)/.exec(deployed.stdout)?.[1] ?? "";
    const status = await run(["wizard", "status", deploymentId]);
    expect(status.stdout).toContain(SIMULATED);
    expect(status.stdout).toMatch(/BILLED\s+COST/);
    expect(status.stdout).toMatch(/cost \$0\.\d+/);
    // History counts every rented candidate; losers destroyed before ready are abandoned, not failed.
    const summary = await run(["history", "summary", "--hours", "1"]);
    expect(summary.stdout).toMatch(/abandoned:\s+\d+ \(destroyed before ready, e\.g\. race losers: not failures\)/);
    const counts = await json<{ total_attempts: number; successful: number; failed: number; abandoned: number }>([
      "history",
      "summary",
      "--hours",
      "1",
    ]);
    expect(counts.total_attempts).toBe(counts.successful + counts.failed + counts.abandoned);
    expect(counts.total_attempts).toBeGreaterThanOrEqual(5);
    const winner = (await json<{ winner_instance_id: string }>(["wizard", "status", deploymentId])).winner_instance_id;
    expect((await run(["instance", "delete", winner, "--yes"])).code).toBe(0);
  });

  it("job wait, status and list say SIMULATED, and the cost is every machine of the race, losers included", async () => {
    const created = await json<{ id: string }>([
      "job",
      "create",
      "honest-bill",
      "--command=echo billed; sleep 1",
      "--max-price",
      "3",
      "--disk",
      "10",
    ]);
    const waited = await run(["job", "wait", created.id]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain(SIMULATED);
    const job = await json<{
      total_cost: number;
      machines: { instance_id: string; role: string; cost_usd: number }[];
    }>(["job", "status", created.id]);
    expect(job.machines.filter((m) => m.role === "winner")).toHaveLength(1);
    expect(job.machines.filter((m) => m.role === "loser").length).toBeGreaterThanOrEqual(1);
    expect(job.total_cost).toBeGreaterThan(0);
    expect(job.total_cost).toBeCloseTo(
      job.machines.reduce((sum, m) => sum + m.cost_usd, 0),
      6,
    );

    const status = await run(["job", "status", created.id]);
    expect(status.stdout).toContain(SIMULATED);
    expect(status.stdout).toMatch(
      new RegExp(`cost:\\s+\\$0\\.\\d+: ${job.machines.length} machine\\(s\\), race losers included`),
    );
    expect(status.stdout).toMatch(/ATTEMPT\s+MACHINE\s+ROLE\s+STATUS\s+GPU\s+BILLED\s+\$\/H\s+COST/);
    for (const m of job.machines)
      expect(status.stdout).toMatch(new RegExp(`${m.instance_id}\\s+${m.role}\\s+destroyed`));
    const list = await run(["job", "list"]);
    expect(list.stdout).toContain(SIMULATED);
    expect(list.stdout).toContain(created.id);
  });
});

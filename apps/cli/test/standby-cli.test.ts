import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cliSession, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

interface Association {
  id: string;
  status: string;
  instance_id: string;
  simulated: boolean;
  vm_name: string;
  sync_count: number;
  error: string | null;
  active: { role: "gpu" | "cpu" };
}

/** A key pair made by the system's ssh-keygen (test set-up; the CLI itself never writes keys). */
function keygen(file: string): void {
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", file]);
}

/**
 * The CPU standby through the real CLI binary, against a real server with the embedded market
 * and its emulated GCP project: provision, status, pricing, a planned failover followed with
 * --wait, `instance ssh` landing on the CPU with the workspace written on the GPU, the report,
 * bad input, and nothing left rented afterwards.
 */
describe("dumont standby … against the embedded market", () => {
  let server: ServerProcess;
  const configHome = tempDir("dumont-standby-cli-config-");
  const home = tempDir("dumont-standby-cli-home-");
  const key = join(tempDir("dumont-standby-cli-keys-"), "id_dumont");
  const { run, json } = cliSession(() => ({ XDG_CONFIG_HOME: configHome, DUMONT_API_URL: server.url, HOME: home }));
  const until = async <T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await sleep(200);
    }
  };
  const standby = (id: string) => json<Association>(["standby", "get", id]);

  beforeAll(async () => {
    server = await spawnServer({
      DUMONT_HOME: tempDir(),
      DUMONT_MARKET: "embedded",
      DUMONT_MARKET_TIME_SCALE: "0.02",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
      DUMONT_STANDBY_HEALTH_S: "1",
      DUMONT_STANDBY_RECHECK_S: "0.5",
    });
    await run(["auth", "register", "standby@example.com", "correct horse battery"]);
    keygen(key);
    await json(["ssh-key", "add", `${key}.pub`, "--name", "test key"]);
  });
  afterAll(async () => {
    await server?.kill();
  });

  it("provisions a standby, fails over to it, lands `instance ssh` there, reports it, and leaves nothing behind", async () => {
    const { offers } = await json<{ offers: { id: string }[] }>(["instance", "offers", "price=3", "limit=1"]);
    const created = await json<{ id: string }>(["instance", "create", offers[0]?.id ?? "", "--disk", "10", "--wait"]);
    const instanceId = created.id;

    const provisioned = await json<Association>(["standby", "provision", instanceId, "sync_interval=3600"]);
    expect(provisioned).toMatchObject({ instance_id: instanceId, status: "provisioning", simulated: true });
    const synced = await until(
      "the standby syncing",
      () => standby(provisioned.id),
      (a) => a.status === "syncing" || a.status === "failed",
    );
    expect(synced.status).toBe("syncing");
    // Found by the instance's id too.
    expect((await standby(instanceId)).id).toBe(provisioned.id);

    // Written on the GPU after the first sync, with the next an hour away: only the failover's final sync carries it.
    const write = await run(["instance", "ssh", instanceId, "-i", key, "--", "echo written-on-gpu > /workspace/x"]);
    expect(write.code).toBe(0);
    expect(write.stderr).not.toContain("CPU standby");

    const status = await run(["standby", "status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("SIMULATED");
    expect(status.stdout).toContain(`GPU ${instanceId}`);
    expect(status.stdout).toContain(provisioned.id);
    for (const line of status.stdout.split("\n").filter((l) => l.startsWith(provisioned.id)))
      expect(line).toContain("[SIMULATED]");

    const details = await run(["standby", "get", provisioned.id]);
    expect(details.stdout).toMatch(/last sync:\s+\d+ s ago: .* sent, \d+ files?/);
    expect(details.stdout).toContain(`GPU ${instanceId}`);

    const pricing = await run(["standby", "pricing", "machine_type=e2-medium", "disk_gb=50"]);
    expect(pricing.code).toBe(0);
    expect(pricing.stdout).toMatch(/Prices as of \S*\d{4}/);
    expect(pricing.stdout).toContain("source:");
    expect(pricing.stdout).toMatch(/e2-medium, 50 GB disk, spot: \$[\d.]+\/h/);

    const failover = await run(["standby", "failover", instanceId, "--wait", "--timeout", "60"]);
    expect(failover.stderr + failover.stdout, failover.stderr).toContain("failover_active");
    expect(failover.code).toBe(0);
    expect(failover.stderr).toMatch(/\[\d+s\] \S+: \S+.*waiting for failover_active/);
    expect(failover.stdout).toContain(`CPU standby ${provisioned.vm_name}`);

    // The GPU is paused now; ssh follows the workspace to the CPU and says so on stderr.
    const onCpu = await run(["instance", "ssh", instanceId, "-i", key, "--", "cat /workspace/x"]);
    expect(onCpu.stdout).toBe("written-on-gpu\n");
    expect(onCpu.code).toBe(0);
    expect(onCpu.stderr).toContain(`connecting to the CPU standby ${provisioned.vm_name}`);
    expect(onCpu.stderr).not.toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    const afterFailover = await run(["standby", "status"]);
    expect(afterFailover.stdout).toContain(`CPU standby ${provisioned.vm_name}`);
    expect(afterFailover.stdout).toContain("failed over or recovering");

    const report = await json<{ total: number; failovers: { kind: string; instance_id: string }[] }>([
      "standby",
      "report",
      "--days",
      "30",
    ]);
    expect(report.total).toBe(1);
    expect(report.failovers.map((f) => [f.kind, f.instance_id])).toEqual([["planned", instanceId]]);
    const humanReport = await run(["standby", "report"]);
    expect(humanReport.stdout).toMatch(/MTTR: .*\nRTO: /);
    expect(humanReport.stdout).toContain("planned");

    const syncs = await run(["standby", "syncs", provisioned.id, "--limit", "5"]);
    expect(syncs.code).toBe(0);
    expect(syncs.stdout).toContain("GPU → CPU");

    // Deleting asks first; from a script it needs --yes (exit 2).
    const unconfirmed = await run(["--json", "standby", "delete", provisioned.id]);
    expect(unconfirmed.code).toBe(2);
    const deleted = await run(["standby", "delete", provisioned.id, "--yes", "--wait", "--timeout", "60"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await standby(provisioned.id)).status).toBe("destroyed");
    expect((await run(["instance", "delete", instanceId, "--yes", "--wait", "--timeout", "60"])).code).toBe(0);

    const { instances } = await json<{ instances: { status: string }[] }>(["instance", "list"]);
    expect(instances.filter((i) => i.status !== "destroyed")).toEqual([]);
    const live = await json<{ associations: Association[] }>(["standby", "status"]);
    expect(live.associations).toEqual([]);
  });

  it("instance create --standby gives it one; delete --keep-standby leaves the CPU serving the workspace", async () => {
    const { offers } = await json<{ offers: { id: string }[] }>(["instance", "offers", "price=3", "limit=1"]);
    // Standbys made from now on sync every 5 s (the fastest allowed).
    const configured = await json<{ sync_interval_s: number }>(["standby", "configure", "sync_interval=5"]);
    expect(configured.sync_interval_s).toBe(5);
    const created = await run(["instance", "create", offers[0]?.id ?? "", "--disk", "10", "--standby"]);
    expect(created.code, created.stderr).toBe(0);
    const instanceId = /id:\s+(\S+)/.exec(created.stdout)?.[1] ?? "";
    expect(created.stdout).toContain(`dumont standby get ${instanceId}`);
    const synced = await until(
      "the automatic standby syncing",
      () => standby(instanceId),
      (a) => a.status === "syncing" || a.status === "failed",
    );
    expect(synced.status).toBe("syncing");
    expect((await run(["instance", "ssh", instanceId, "-i", key, "--", "echo kept > /workspace/k"])).code).toBe(0);
    // Sync stopped and started again, each followed to its stable state; then a sync carries the file.
    const disabled = await run(["standby", "disable", instanceId, "--wait", "--timeout", "30"]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain("is disabled");
    expect((await run(["standby", "enable", instanceId, "--wait", "--timeout", "30"])).code).toBe(0);
    await until(
      "a sync after the write",
      () => standby(instanceId),
      (a) => a.sync_count > synced.sync_count,
    );

    const deleted = await run([
      "instance",
      "delete",
      instanceId,
      "--yes",
      "--keep-standby",
      "--wait",
      "--timeout",
      "60",
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain("Its CPU standby stays and serves the workspace");
    const kept = await until(
      "the CPU serving",
      () => standby(instanceId),
      (a) => a.status === "failover_active",
    );
    expect(kept.active.role).toBe("cpu");
    const onCpu = await run(["instance", "ssh", instanceId, "-i", key, "--", "cat /workspace/k"]);
    expect(onCpu.stdout).toBe("kept\n");
    expect(onCpu.stderr).toContain(`connecting to the CPU standby ${kept.vm_name}`);

    expect((await run(["standby", "delete", instanceId, "--yes", "--wait", "--timeout", "60"])).code).toBe(0);
    expect((await json<{ associations: Association[] }>(["standby", "status"])).associations).toEqual([]);
  });

  it("refuses bad settings with a clear error (exit 2), and saves good ones", async () => {
    const tooFast = await run(["--json", "standby", "configure", "sync_interval=1"]);
    expect(tooFast.code).toBe(2);
    const refused = JSON.parse(tooFast.stdout) as { error: { code: string; message: string } };
    expect(refused.error.code).toBe("VALIDATION_FAILED");
    expect(refused.error.message).toContain("sync_interval_s");

    const notNumber = await run(["--json", "standby", "configure", "disk_gb=lots"]);
    expect(notNumber.code).toBe(2);
    expect((JSON.parse(notNumber.stdout) as { error: { message: string } }).error.message).toContain(
      'disk_gb must be a whole number, got "lots"',
    );
    const unknown = await run(["standby", "configure", "colour=blue"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown key "colour"');

    const saved = await json<{ sync_interval_s: number; excludes: string[]; auto_standby: boolean }>([
      "standby",
      "configure",
      "sync_interval=60",
      "excludes=*.ckpt,data/tmp/",
      "auto_standby=no",
    ]);
    expect(saved).toMatchObject({ sync_interval_s: 60, excludes: ["*.ckpt", "data/tmp/"], auto_standby: false });
    const shown = await run(["standby", "configure"]);
    expect(shown.stdout).toMatch(/sync every:\s+60 s/);
    expect(shown.stdout).toContain("SIMULATED");
  });

  it("completes the standby commands and their flags", async () => {
    const bash = await run(["completion", "bash"]);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(
      /"standby"\) opts="configure status associations provision get failover recover failback disable enable delete syncs pricing report /,
    );
    expect(bash.stdout).toMatch(/"standby failover"\) opts="[^"]*--wait/);
    expect(bash.stdout).toMatch(/"instance delete"\) opts="[^"]*--keep-standby/);
    expect(bash.stdout).toMatch(/"instance create"\) opts="[^"]*--standby/);
  });
});

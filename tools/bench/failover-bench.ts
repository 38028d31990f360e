import { setTimeout as sleep } from "node:timers/promises";
import { sshExec, type SshEndpoint } from "@dumont/providers";
import { stats } from "./measure";
import { StandbyBenchFixture, until } from "./standby-fixture";

/**
 * CPU standby failover on the SIMULATED market (the embedded Vast-like market and its emulated
 * GCP project), market time ×1, default standby and health-check settings but the sync interval
 * (30 s, the default, and 5 s, the least allowed). Each run has a fresh control plane and market
 * (seeded per run, the same seeds for both intervals): rent a GPU, provision its standby, start a
 * writer on the GPU (a new file every 100 ms holding its write time), let one sync interval pass,
 * kill the GPU's host through /sim at T0 (run i of N at (i+1)/(N+1) of a sync cycle, so the runs
 * see the RPO from its least to its most), and measure:
 *   RTO      T0 → the instance's endpoint says `cpu` and an SSH command there lists /workspace;
 *   RPO      T0 − the write time of the newest file the standby holds (the newest write lost);
 *   recovery T0 → the association back in `syncing` on a new GPU (automatic recovery).
 * The baseline, in the same terms: the health-check budget of three checks (interval + 2 rechecks).
 *
 * `npm run bench -- failover [--quick] [--runs=N]` (or BENCH_FAILOVER_RUNS=N): --quick is one run
 * at the 5 s interval only.
 */

const QUICK = process.argv.includes("--quick");
const RUNS = QUICK ? 1 : Number(argValue("--runs") ?? process.env.BENCH_FAILOVER_RUNS ?? 3);
const INTERVALS_S = QUICK ? [5] : [30, 5];
const FIRST_SEED = 2026;
const RTO_TARGET_MS = 15_000;
const POLL_MS = 50;
/** Where the writer writes: `w<ms>` holding `<ms>`, the write time (epoch ms, the machine's clock is ours). */
const STREAM = "/workspace/stream";
/** `unnoticed` is ours (T0 → the failover record's start: the first check that saw the loss); the rest are the API's. */
const PHASES = ["unnoticed", "detect", "switch", "provision", "restore", "verify", "switch_back"] as const;

interface Run {
  intervalS: number;
  seed: number;
  ok: boolean;
  error?: string;
  rtoMs?: number;
  rpoMs?: number;
  recoveryMs?: number;
  /** Files the standby held at failover, of those written by then. */
  filesOnStandby?: number;
  phases: Record<string, number>;
  /** When in the sync cycle the host died: (T0 − the last sync's start) / the interval. */
  killPhase?: number;
  /** How long the two steps before T0 took (market boot included). */
  rentMs?: number;
  provisionMs?: number;
}

function argValue(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

async function failoverOnce(intervalS: number, seed: number, phase: number): Promise<{ run: Run; budgetMs: number }> {
  const bench = await StandbyBenchFixture.start(
    { DUMONT_MARKET_TIME_SCALE: "1", DUMONT_MARKET_SEED: String(seed) },
    "bench-failover",
  );
  const health = bench.server.server.context.config.standbyHealth;
  const budgetMs = health.intervalMs + (health.failures - 1) * health.recheckMs;
  const run: Run = { intervalS, seed, ok: false, phases: {} };
  let liveGpu: string | undefined;
  try {
    let t = Date.now();
    const instanceId = await bench.rentGpu();
    liveGpu = instanceId;
    run.rentMs = Date.now() - t;
    t = Date.now();
    const association = await bench.provisionStandby(instanceId, intervalS);
    run.provisionMs = Date.now() - t;

    const gpu = await bench.gpuEndpoint(instanceId);
    await bench.exec(
      gpu,
      `mkdir -p ${STREAM} && (nohup setsid sh -c 'while true; do t=$(date +%s%3N); echo $t > ${STREAM}/w$t; sleep 0.1; done' >/dev/null 2>&1 </dev/null &); echo started`,
    );
    // One sync interval with the writer running, and a bit, and at least one sync that saw it;
    // then the kill lands `phase` of an interval after a sync started (runs spread it over the
    // cycle: right after a sync the RPO is at its least, just before the next at its most).
    const syncsBefore = (await bench.association(association.id)).sync_count;
    const writerStarted = Date.now();
    let synced = await until(
      "a sync with the writer running",
      () => bench.association(association.id),
      (a) => a.sync_count > syncsBefore && Date.now() - writerStarted >= intervalS * 1000 + 2_000,
      { timeoutMs: intervalS * 1000 + 120_000, everyMs: 50 },
    );
    for (let cycle = 0; ; cycle++) {
      const killAt = Date.parse(synced.last_sync_at ?? "") + phase * intervalS * 1000;
      if (killAt >= Date.now() || cycle >= 5) {
        await sleep(Math.max(0, killAt - Date.now()));
        break;
      }
      // Too late in this cycle (the sync itself took longer than `phase`): the next one.
      const count = synced.sync_count;
      synced = await until(
        "the next sync",
        () => bench.association(association.id),
        (a) => a.sync_count > count,
        { timeoutMs: intervalS * 1000 + 120_000, everyMs: 50 },
      );
    }

    const t0 = Date.now();
    await bench.injectFault(instanceId, "host_offline");
    run.killPhase = (t0 - Date.parse(synced.last_sync_at ?? "")) / (intervalS * 1000);

    // RTO: the endpoint says cpu, and the workspace answers there.
    const key = await bench.controlKey();
    let cpu: SshEndpoint | undefined;
    for (;;) {
      if (Date.now() - t0 > 10 * 60_000) throw new Error("no failover after 10 minutes");
      const endpoint = await bench.endpointOf(instanceId);
      if (endpoint.role === "cpu" && endpoint.ssh_host && endpoint.ssh_port) {
        const candidate = { host: endpoint.ssh_host, port: endpoint.ssh_port, user: "root" };
        const listed = await sshExec({
          endpoint: candidate,
          privateKey: key,
          command: "ls /workspace",
          timeoutMs: 5_000,
        })
          .then((r) => r.exitCode === 0 && r.stdout.includes("stream"))
          .catch(() => false);
        if (listed) {
          run.rtoMs = Date.now() - t0;
          cpu = candidate;
          break;
        }
      }
      await sleep(POLL_MS);
    }

    // RPO: the newest write the standby holds (file names sort by time: all hold 13 digits).
    const newest = await bench.exec(cpu, `cd ${STREAM} && ls | wc -l && f=$(ls | sort | tail -n 1) && cat "$f"`);
    const [count, written] = newest.trim().split("\n").map(Number);
    if (!Number.isFinite(written)) throw new Error(`the standby's newest file: ${JSON.stringify(newest)}`);
    run.rpoMs = t0 - (written as number);
    run.filesOnStandby = count;

    const recovered = await until(
      "automatic recovery onto a new GPU",
      () => bench.association(association.id),
      (a) => a.status === "syncing" && a.gpu_instance_id !== instanceId,
      { timeoutMs: 20 * 60_000, everyMs: 200 },
    );
    run.recoveryMs = Date.now() - t0;
    liveGpu = recovered.gpu_instance_id;

    const report = await bench.json<{
      failovers: { kind: string; started_at: string; phases_ms: Record<string, number> }[];
    }>("GET", `/api/v1/standby/failovers?association_id=${association.id}`);
    const automatic = report.failovers.find((f) => f.kind === "automatic");
    // The record starts at the first check that saw the loss; before it, nobody knew.
    run.phases = automatic ? { unnoticed: Date.parse(automatic.started_at) - t0, ...automatic.phases_ms } : {};
    run.ok = true;

    // Deleting the instance takes its standby with it.
    await bench.json("DELETE", `/api/v1/instances/${recovered.gpu_instance_id}`);
    liveGpu = undefined;
    await bench.waitStatus(association.id, "destroyed", 120_000);
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
    if (liveGpu) await bench.json("DELETE", `/api/v1/instances/${liveGpu}`).catch(() => undefined);
  } finally {
    await bench.close();
  }
  return { run, budgetMs };
}

const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "  –  " : (ms / 1000).toFixed(2));
const max = (values: number[]) => (values.length === 0 ? NaN : Math.max(...values));

export async function benchFailover(): Promise<void> {
  const started = Date.now();
  const runs: Run[] = [];
  let budgetMs = NaN;
  console.log(
    `CPU standby failover on the SIMULATED market (embedded market + emulated GCP, market time ×1), ` +
      `${RUNS} run(s) per sync interval${QUICK ? " (--quick)" : ""}, default health checks`,
  );
  for (const intervalS of INTERVALS_S) {
    for (let i = 0; i < RUNS; i++) {
      const result = await failoverOnce(intervalS, FIRST_SEED + i, (i + 1) / (RUNS + 1));
      budgetMs = result.budgetMs;
      const run = result.run;
      runs.push(run);
      console.log(
        `  sync ${String(intervalS).padStart(2)} s seed ${run.seed}: ` +
          (run.ok
            ? `killed at ${((run.killPhase ?? NaN) * 100).toFixed(0)} % of the sync cycle: RTO ${s(run.rtoMs)} s  RPO ${s(run.rpoMs)} s  recovery ${s(run.recoveryMs)} s  ` +
              `(${run.filesOnStandby} streamed files on the standby; rent ${s(run.rentMs)} s, provision ${s(run.provisionMs)} s)  ` +
              `phases ${PHASES.filter((p) => run.phases[p] !== undefined)
                .map((p) => `${p} ${s(run.phases[p])}`)
                .join(", ")}`
            : `FAILED: ${run.error}`),
      );
    }
  }
  console.log(
    `baseline: the health-check budget, 3 checks = interval + 2 rechecks = ${s(budgetMs)} s ` +
      `(DUMONT_STANDBY_HEALTH_S / DUMONT_STANDBY_RECHECK_S at their defaults)`,
  );
  for (const intervalS of INTERVALS_S) {
    const set = runs.filter((r) => r.intervalS === intervalS && r.ok);
    const all = runs.filter((r) => r.intervalS === intervalS);
    const values = (pick: (r: Run) => number | undefined) => set.map(pick).filter((v): v is number => v !== undefined);
    const rto = values((r) => r.rtoMs);
    const rpo = values((r) => r.rpoMs);
    const recovery = values((r) => r.recoveryMs);
    const p50 = (v: number[]) => stats(v).median;
    console.log(`sync interval ${intervalS} s: ${set.length}/${all.length} runs completed`);
    console.log(
      `  RTO      p50 ${s(p50(rto))} s  max ${s(max(rto))} s  target ≤ ${s(RTO_TARGET_MS)} s  ` +
        `${max(rto) <= RTO_TARGET_MS ? "met" : "MISSED"}   RTO p50 / health-check budget ×${(p50(rto) / budgetMs).toFixed(2)}  max ×${(max(rto) / budgetMs).toFixed(2)}`,
    );
    console.log(
      `  RPO      p50 ${s(p50(rpo))} s  max ${s(max(rpo))} s  target ≤ sync interval ${intervalS.toFixed(2)} s  ` +
        `${max(rpo) <= intervalS * 1000 ? "met" : "MISSED"}`,
    );
    console.log(`  recovery p50 ${s(p50(recovery))} s  max ${s(max(recovery))} s  (T0 → syncing on a new GPU)`);
    const mean = (name: string) => {
      const v = set.map((r) => r.phases[name]).filter((x): x is number => x !== undefined);
      return v.length === 0 ? undefined : v.reduce((a, b) => a + b, 0) / v.length;
    };
    console.log(
      `  phases (mean, from GET /api/v1/standby/failovers): ${PHASES.map((p) => `${p} ${s(mean(p))} s`).join("  ")}`,
    );
  }
  console.log(
    `market: SIMULATED (embedded market and emulated GCP on this machine)   bench time ${s(Date.now() - started)} s`,
  );
}

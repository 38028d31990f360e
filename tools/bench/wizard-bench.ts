import { setTimeout as sleep } from "node:timers/promises";
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { resolve } from "node:path";
import pino from "pino";
import { bearer, registerAccount, startInProcessServer, tempDir } from "@dumont/testing";
import { generateSshKeyPair, sshExec } from "@dumont/providers";
import { stats } from "./measure";

/**
 * The measure of time to ready: for each seed, a fresh flaky market and a fresh control
 * plane per strategy (so race and sequential face the identical market), market time and
 * control-plane polling both ×0.1, and the wall time of the real `dumont wizard deploy` process.
 * Each run is broken down from the instance rows, the events table and the market's own phase
 * changes, so the report says where the time went. Also checked: leaks and double purchases (0).
 */
const TIME_SCALE = 0.1;
const SEEDS = (process.env.BENCH_SEEDS ?? "2026,2027,2028,2029,2030,2031").split(",").map(Number);
const BIN = resolve(import.meta.dirname, "../../bin/dumont.cjs");

type Strategy = "race" | "sequential";

interface Run {
  strategy: Strategy;
  seed: number;
  ok: boolean;
  /** CLI process start → exit, ms. */
  wall: number;
  /** Milestones, ms since the CLI process started (undefined when it did not happen). */
  posted?: number;
  searched?: number;
  createCall?: number;
  marketRunning?: number;
  sshUp?: number;
  declared?: number;
  completed?: number;
  /** The last loser confirmed destroyed. */
  lastLoserGone?: number;
  /** The winner's own boot: create call → market running → one SSH handshake. */
  winnerBoot?: number;
  /** How long that one SSH handshake (and `true`) took. */
  sshHandshake?: number;
  machinesPaid: number;
  leaks: number;
  doubleBuys: number;
}

/** Control-plane settings ×0.1 of the defaults (poll 500 ms, instance 3 s, idle 30 s, job 2 s, boot 900 s). */
function serverEnv(seed: number): Record<string, string> {
  return {
    DUMONT_MARKET: "embedded",
    DUMONT_MARKET_PROFILE: "flaky",
    DUMONT_MARKET_SEED: String(seed),
    DUMONT_MARKET_TIME_SCALE: String(TIME_SCALE),
    DUMONT_POLL_MS: "50",
    DUMONT_INSTANCE_POLL_MS: "300",
    DUMONT_INSTANCE_IDLE_POLL_MS: "3000",
    DUMONT_JOB_POLL_MS: "200",
    DUMONT_BOOT_TIMEOUT_S: "90",
    DUMONT_CONTROLLER_CONCURRENCY: "64",
  };
}

/** The market logs each phase change at debug level; keep the real time each instance first ran. */
function marketRunningTimes(): { logger: pino.Logger; runningAt: Map<string, number> } {
  const runningAt = new Map<string, number>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) {
        if (!line.includes('"instance phase"')) continue;
        const entry = JSON.parse(line) as { instance: number; to: string; time: number };
        const id = String(entry.instance);
        if (entry.to === "running" && !runningAt.has(id)) runningAt.set(id, entry.time);
      }
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), runningAt };
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: "", ...env },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("close", (code) => done({ code, stdout }));
  });
}

async function deployOnce(seed: number, strategy: Strategy): Promise<Run> {
  const { logger, runningAt } = marketRunningTimes();
  const server = await startInProcessServer({ env: serverEnv(seed), logger });
  try {
    await server.app.listen({ host: "127.0.0.1", port: 0 });
    const address = server.app.server.address();
    if (!address || typeof address === "string") throw new Error("no server address");
    const user = await registerAccount(server.app, "bench");
    // As in the quickstart: the user's own key is on the account before deploying.
    const added = await server.app.inject({
      method: "POST",
      url: "/api/v1/ssh-keys",
      headers: bearer(user.token),
      payload: { name: "bench", public_key: generateSshKeyPair("bench").publicKey },
    });
    if (added.statusCode !== 201) throw new Error(`adding the SSH key failed: ${added.body}`);
    const started = Date.now();
    const result = await runCli(
      [
        "wizard",
        "deploy",
        "--json",
        // The bench never logs in; it measures time to ready.
        "--no-ssh-key-check",
        "speed=any",
        "price=3",
        "disk=10",
        `strategy=${strategy}`,
        // The default 90 s batch timeout, ×0.1 like the rest of the control plane.
        "--batch-timeout",
        "9",
        "--max-batches",
        strategy === "race" ? "3" : "10",
      ],
      {
        DUMONT_API_URL: `http://127.0.0.1:${address.port}`,
        DUMONT_TOKEN: user.token,
        XDG_CONFIG_HOME: tempDir("dumont-bench-cli-"),
      },
    );
    const wall = Date.now() - started;
    const body = JSON.parse(result.stdout) as { id: string; status: string; winner_instance_id: string | null };
    const db = server.server.context.database.db;
    // The CLI returns once the winner is verified; the server goes on destroying the losers. Wait
    // for that to end so the breakdown and the leak check see the whole race.
    for (let i = 0; i < 200; i++) {
      const row = await db.selectFrom("deployments").select("status").where("id", "=", body.id).executeTakeFirst();
      if (!row || ["completed", "failed", "cancelled"].includes(row.status)) break;
      await sleep(50);
    }
    const deployment = await db.selectFrom("deployments").selectAll().where("id", "=", body.id).executeTakeFirst();
    const candidates = await db.selectFrom("instances").selectAll().where("deployment_id", "=", body.id).execute();
    const events = await db
      .selectFrom("events")
      .select(["to_status", "created_at"])
      .where("resource_id", "=", body.id)
      .execute();
    const loserEnds = await db
      .selectFrom("events")
      .select(["created_at"])
      .where(
        "resource_id",
        "in",
        candidates
          .filter((c) => c.id !== body.winner_instance_id)
          .map((c) => c.id)
          .concat([""]),
      )
      .where("to_status", "in", ["destroyed", "failed"])
      .execute();
    const winner = candidates.find((c) => c.id === body.winner_instance_id);
    const since = (t: number | null | undefined) => (t === null || t === undefined ? undefined : t - started);
    const run: Run = {
      strategy,
      seed,
      ok: (body.status === "completed" || body.status === "ready") && winner !== undefined,
      wall,
      posted: since(deployment?.created_at),
      searched: since(events.find((e) => e.to_status === "creating")?.created_at),
      createCall: since(winner?.create_attempted_at),
      marketRunning: since(winner?.machine_id ? runningAt.get(winner.machine_id) : undefined),
      sshUp: since(winner?.ready_at),
      declared: since(deployment?.ready_at),
      completed: since(events.find((e) => e.to_status === "completed")?.created_at),
      lastLoserGone: since(loserEnds.length > 0 ? Math.max(...loserEnds.map((e) => e.created_at)) : undefined),
      machinesPaid: candidates.filter((c) => c.machine_id !== null).length,
      leaks: 0,
      doubleBuys: 0,
    };
    if (winner?.ssh_host && winner.ssh_port && run.createCall !== undefined && run.marketRunning !== undefined) {
      const key = await server.server.context.sshKeys.controlKey(user.userId);
      const t = Date.now();
      await sshExec({
        endpoint: { host: winner.ssh_host, port: winner.ssh_port, user: "root" },
        privateKey: key.privateKey,
        command: "true",
        timeoutMs: 20_000,
      });
      run.sshHandshake = Date.now() - t;
      run.winnerBoot = run.marketRunning - run.createCall + run.sshHandshake;
    }
    // Every candidate but the winner must be gone; two live candidates never share an offer.
    const provider = await server.server.context.markets.providerFor(user.userId);
    run.leaks = (await provider.listMachines("dumont:")).filter((m) => m.id !== winner?.machine_id).length;
    const offers = new Set<string>();
    for (const c of candidates) {
      if (offers.has(c.offer_id)) run.doubleBuys += 1;
      offers.add(c.offer_id);
    }
    return run;
  } finally {
    await server.close();
  }
}

const seconds = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "   –  " : (ms / 1000).toFixed(2));
const median = (values: (number | undefined)[]) => stats(values.filter((v): v is number => v !== undefined)).median;

/** The milestones of a run in order; each phase of the breakdown runs from one to the next. */
const MILESTONES: [string, (r: Run) => number | undefined][] = [
  ["CLI start", () => 0],
  ["deployment posted", (r) => r.posted],
  ["offers ranked", (r) => r.searched],
  ["winner's create call", (r) => r.createCall],
  ["market running", (r) => r.marketRunning],
  ["SSH up seen", (r) => r.sshUp],
  ["winner declared", (r) => r.declared],
  ["completed", (r) => r.completed],
  ["CLI exit", (r) => r.wall],
];

/** Medians of each phase: where a strategy's time went, from the CLI's start to its exit. */
function breakdown(runs: Run[]): string {
  const phase = (from: (r: Run) => number | undefined, to: (r: Run) => number | undefined) =>
    seconds(
      median(
        runs.map((r) => {
          const a = from(r);
          const b = to(r);
          return a === undefined || b === undefined ? undefined : b - a;
        }),
      ),
    );
  const parts = MILESTONES.slice(1).map(([name, at], i) => {
    const from = MILESTONES[i]?.[1] ?? (() => undefined);
    return `→ ${name} ${phase(from, at)}`;
  });
  // Sequential's losers are gone before its winner is declared: 0 there.
  const losers = phase(
    (r) => r.declared,
    (r) =>
      r.lastLoserGone === undefined || r.declared === undefined ? r.declared : Math.max(r.declared, r.lastLoserGone),
  );
  return `${parts.join("  ")}  (winner declared → last loser destroyed ${losers})`;
}

export async function benchWizard(): Promise<void> {
  const runs: Run[] = [];
  const benchStarted = Date.now();
  for (const seed of SEEDS) {
    for (const strategy of ["race", "sequential"] as const) {
      const run = await deployOnce(seed, strategy);
      runs.push(run);
      console.log(
        `  seed ${seed} ${strategy.padEnd(10)} ${run.ok ? "ready" : "FAILED"} in ${seconds(run.wall)} s` +
          `  (winner's own boot ${seconds(run.winnerBoot)} s of which SSH ${seconds(run.sshHandshake)} s, ${run.machinesPaid} machine(s) rented)`,
      );
    }
  }
  const of = (strategy: Strategy) => runs.filter((r) => r.strategy === strategy);
  const okWalls = (strategy: Strategy) =>
    of(strategy)
      .filter((r) => r.ok)
      .map((r) => r.wall);
  const race = stats(okWalls("race"));
  const sequential = stats(okWalls("sequential"));
  const raceBoot = median(
    of("race")
      .filter((r) => r.ok)
      .map((r) => r.winnerBoot),
  );
  const line = (name: Strategy, s: typeof race) => {
    const all = of(name);
    const ok = all.filter((r) => r.ok);
    const paid = all.reduce((n, r) => n + r.machinesPaid, 0);
    return (
      `${name.padEnd(10)} CLI wall time p50 ${seconds(s.median)} s  p95 ${seconds(s.p95)} s  ready ${ok.length}/${all.length}` +
      `  machines paid per success ${(paid / Math.max(1, ok.length)).toFixed(2)}`
    );
  };
  console.log(
    `wizard time to ready: fresh flaky market per run, seeds ${SEEDS.join(",")}, market time and control-plane polling ×${TIME_SCALE}, CLI wall time`,
  );
  console.log(line("sequential", sequential) + "  (baseline)");
  console.log(line("race", race));
  console.log(`  race breakdown (p50 s):       ${breakdown(of("race").filter((r) => r.ok))}`);
  console.log(`  sequential breakdown (p50 s): ${breakdown(of("sequential").filter((r) => r.ok))}`);
  console.log(
    `race / sequential p50: ×${(race.median / sequential.median).toFixed(2)} (target ≤ ×0.33)   p95: ×${(race.p95 / sequential.p95).toFixed(2)}`,
  );
  console.log(
    `race p50 / race winners' own boot p50 (create call → market running → SSH): ×${(race.median / raceBoot).toFixed(2)} (target ≤ ×1.25; own boot p50 ${seconds(raceBoot)} s)`,
  );
  console.log(
    `leaks: ${runs.reduce((n, r) => n + r.leaks, 0)}   double-buys: ${runs.reduce((n, r) => n + r.doubleBuys, 0)}   bench time ${seconds(Date.now() - benchStarted)} s`,
  );
}

import { setTimeout as sleep } from "node:timers/promises";
import { bearer, registerAccount, startInProcessServer } from "@dumont/testing";
import { stats } from "./measure";

interface DeploymentBody {
  id: string;
  status: string;
  winner_instance_id: string | null;
  time_to_ready_seconds: number | null;
  candidates: { instance_id: string; offer_id: string; status: string }[];
}

/**
 * Race against sequential on the same seeded flaky market (about 30 % of hosts fail their boots),
 * N deployments each, one after another. Reports time to a verified machine, machines paid per
 * success, leaks and double purchases (both must be 0). Simulated time runs 20× faster than real
 * time (DUMONT_MARKET_TIME_SCALE=0.05): multiply seconds by 20 for market-scale times.
 */
export async function benchWizard(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 8);
  const server = await startInProcessServer({
    env: {
      DUMONT_MARKET: "embedded",
      DUMONT_MARKET_PROFILE: "flaky",
      DUMONT_MARKET_SEED: "2026",
      DUMONT_MARKET_TIME_SCALE: "0.05",
      DUMONT_INSTANCE_POLL_MS: "150",
      DUMONT_CONTROLLER_CONCURRENCY: "64",
      DUMONT_BOOT_TIMEOUT_S: "30",
    },
  });
  const user = await registerAccount(server.app, "bench");
  const results: Record<string, { ready: number[]; paid: number; successes: number; failures: number }> = {};
  const offerSpans = new Map<string, { start: number; end: number }[]>();

  for (let i = 0; i < runs; i++) {
    for (const strategy of ["race", "sequential"] as const) {
      const entry = (results[strategy] ??= { ready: [], paid: 0, successes: 0, failures: 0 });
      const started = Date.now();
      const response = await server.app.inject({
        method: "POST",
        url: "/api/v1/wizard/deploy",
        headers: bearer(user.token),
        payload: {
          strategy,
          speed: "any",
          max_price: 3,
          disk_size: 10,
          batch_timeout_seconds: 5,
          max_batches: strategy === "race" ? 3 : 10,
        },
      });
      const id = response.json<{ id: string }>().id;
      let body: DeploymentBody;
      for (;;) {
        body = (
          await server.app.inject({
            method: "GET",
            url: `/api/v1/wizard/deployments/${id}`,
            headers: bearer(user.token),
          })
        ).json<DeploymentBody>();
        if (["completed", "failed", "cancelled"].includes(body.status)) break;
        await sleep(50);
      }
      const rows = await server.server.context.database.db
        .selectFrom("instances")
        .select(["offer_id", "machine_id", "created_at", "updated_at", "status"])
        .where("deployment_id", "=", id)
        .execute();
      entry.paid += rows.filter((r) => r.machine_id !== null).length;
      if (body.status === "completed" && body.time_to_ready_seconds !== null) {
        entry.successes += 1;
        entry.ready.push((body.time_to_ready_seconds ?? (Date.now() - started) / 1000) * 1000);
        await server.app.inject({
          method: "DELETE",
          url: `/api/v1/instances/${body.winner_instance_id ?? ""}`,
          headers: bearer(user.token),
        });
      } else entry.failures += 1;
      for (const r of rows) {
        const end = r.status === "destroyed" || r.status === "failed" ? r.updated_at : Date.now();
        offerSpans.set(r.offer_id, [...(offerSpans.get(r.offer_id) ?? []), { start: r.created_at, end }]);
      }
    }
  }
  // Let the last winners' destruction finish, then count what is still rented.
  await sleep(2000);
  const provider = await server.server.context.markets.providerFor(user.userId);
  const leaks = (await provider.listMachines("dumont:")).length;
  let doubleBuys = 0;
  for (const spans of offerSpans.values()) {
    spans.sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) if ((spans[i]?.start ?? 0) < (spans[i - 1]?.end ?? 0)) doubleBuys += 1;
  }
  await server.close();

  const race = results.race;
  const sequential = results.sequential;
  if (!race || !sequential) return;
  const r = stats(race.ready);
  const s = stats(sequential.ready);
  const line = (name: string, e: typeof race, st: typeof r) =>
    `${name.padEnd(12)} time-to-ready p50 ${(st.median / 1000).toFixed(2)} s  p95 ${(st.p95 / 1000).toFixed(2)} s  ` +
    `successes ${e.successes}/${e.successes + e.failures}  machines paid per success ${(e.paid / Math.max(1, e.successes)).toFixed(2)}`;
  console.log(`wizard on a flaky seeded market (${runs} deployments per strategy, market time ×20)`);
  console.log(line("sequential", sequential, s) + "  (baseline)");
  console.log(line("race", race, r));
  console.log(`race / sequential p50: ×${(r.median / s.median).toFixed(2)}   p95: ×${(r.p95 / s.p95).toFixed(2)}`);
  console.log(`leaks: ${leaks}   double-buys: ${doubleBuys}`);
}

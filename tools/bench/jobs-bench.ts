import { setTimeout as sleep } from "node:timers/promises";
import { bearer, registerAccount, startInProcessServer } from "@dumont/testing";
import { stats } from "./measure";

interface JobBody {
  id: string;
  status: string;
  instance_id: string | null;
  created_at: string;
}

/**
 * Control-plane overhead per job (create → running, minus the market's own boot time of the
 * machine that won) on the healthy simulated market, then 20 jobs at once to completion. Market
 * time runs 50× faster than real time (DUMONT_MARKET_TIME_SCALE=0.02).
 */
export async function benchJobs(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const server = await startInProcessServer({
    env: {
      DUMONT_MARKET: "embedded",
      DUMONT_MARKET_TIME_SCALE: "0.02",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
      DUMONT_JOB_POLL_MS: "300",
      DUMONT_CONTROLLER_CONCURRENCY: "128",
    },
  });
  const user = await registerAccount(server.app, "bench-jobs");
  const create = async (name: string) =>
    (
      await server.app.inject({
        method: "POST",
        url: "/api/v1/jobs",
        headers: bearer(user.token),
        payload: { name, command: "echo done", max_price: 3, disk_size: 10 },
      })
    ).json<JobBody>().id;
  const get = async (id: string) =>
    (
      await server.app.inject({ method: "GET", url: `/api/v1/jobs/${id}`, headers: bearer(user.token) })
    ).json<JobBody>();

  const totals: number[] = [];
  const boots: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    const id = await create(`overhead-${i}`);
    let job = await get(id);
    while (!["running", "collecting", "stopping", "completed", "failed"].includes(job.status)) {
      await sleep(20);
      job = await get(id);
    }
    const total = Date.now() - started;
    const instance = await server.server.context.repos.instances.findById(job.instance_id ?? "");
    // The market's share: from the winner's creation until it answered SSH as ready.
    const boot = instance?.ready_at && instance.created_at ? instance.ready_at - instance.created_at : 0;
    totals.push(total);
    boots.push(boot);
    while (!["completed", "failed"].includes((await get(id)).status)) await sleep(50);
  }
  const overhead = stats(totals.map((t, i) => t - (boots[i] ?? 0)));
  const total = stats(totals);

  const concurrent = 20;
  const started = Date.now();
  const ids = await Promise.all(Array.from({ length: concurrent }, (_, i) => create(`concurrent-${i}`)));
  const finals: string[] = [];
  for (const id of ids) {
    let job = await get(id);
    while (!["completed", "failed", "cancelled", "timed_out"].includes(job.status)) {
      await sleep(100);
      job = await get(id);
    }
    finals.push(job.status);
  }
  const wall = (Date.now() - started) / 1000;
  const provider = await server.server.context.markets.providerFor(user.userId);
  const leaks = (await provider.listMachines("dumont:")).length;
  await server.close();

  console.log(`jobs on the simulated market (market time ×50)`);
  console.log(
    `create → running          p50 ${(total.median / 1000).toFixed(2)} s  (market boot of the winner p50 ${(stats(boots).median / 1000).toFixed(2)} s)`,
  );
  console.log(
    `control-plane overhead    p50 ${(overhead.median / 1000).toFixed(2)} s  p95 ${(overhead.p95 / 1000).toFixed(2)} s  (n=${runs})`,
  );
  console.log(
    `${concurrent} concurrent jobs       ${finals.filter((s) => s === "completed").length}/${concurrent} completed in ${wall.toFixed(1)} s wall; machines left: ${leaks}`,
  );
}

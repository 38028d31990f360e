import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMarketplace } from "@dumont/marketplace";
import { VastProvider, type OfferQuery } from "@dumont/providers";
import { stats } from "./measure";

const QUERIES: OfferQuery[] = [
  { machineType: "on-demand", limit: 20, order: "price" },
  { machineType: "on-demand", limit: 20, order: "price", gpuName: "RTX 4090", maxPricePerHour: 1 },
  { machineType: "interruptible", limit: 50, order: "price", countries: ["US", "DE", "FR"], minReliability: 0.95 },
  { machineType: "on-demand", limit: 20, order: "score", minInetDownMbps: 2000, maxInetDownMbps: 4000, numGpus: 2 },
];

async function measure(machines: number, rounds: number) {
  const market = await startMarketplace({ dataDir: mkdtempSync(join(tmpdir(), "bench-market-")), machines, seed: 1 });
  const provider = new VastProvider({ baseUrl: market.url, apiKey: market.apiKey, simulated: true });
  const samples: number[] = [];
  let found = 0;
  for (let i = 0; i < rounds; i++) {
    for (const query of QUERIES) {
      const start = performance.now();
      found += (await provider.searchOffers(query)).length;
      samples.push(performance.now() - start);
    }
  }
  await market.close();
  return { ...stats(samples.slice(QUERIES.length)), found };
}

/**
 * Offer search latency through the real client and HTTP over a market of about 10,000 offers
 * (4,100 machines; the generator lists ~2.5 offers per machine, one per GPU slice), against a
 * 100-machine market (~250 offers) measured in the same run.
 */
export async function benchMarket(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const small = await measure(100, rounds);
  const large = await measure(4_100, rounds);
  const line = (name: string, s: typeof small, base?: typeof small) =>
    `${name.padEnd(36)} p50 ${s.median.toFixed(1).padStart(7)} ms  p95 ${s.p95.toFixed(1).padStart(7)} ms  (n=${s.runs})` +
    (base ? `  ×${(s.median / base.median).toFixed(2)} of baseline` : "");
  console.log(`offer search (${QUERIES.length} query shapes, client-side re-check included)`);
  console.log(line("~250 offers (baseline)", small));
  console.log(line("~10,000 offers", large, small));
}

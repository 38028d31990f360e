import { createServer as createHttpServer } from "node:http";
import { loadConfig, createServer } from "@dumont/server";
import { tempDir } from "@dumont/testing";

/** Requests per second with `concurrency` clients in flight for `seconds`. */
async function load(url: string, headers: Record<string, string>, options: { seconds: number; concurrency: number }) {
  let done = 0;
  const latencies: number[] = [];
  const deadline = Date.now() + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (Date.now() < deadline) {
        const start = performance.now();
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${url} answered ${response.status}`);
        latencies.push(performance.now() - start);
        done += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rps: done / options.seconds, p50: latencies[Math.floor(latencies.length / 2)] ?? NaN };
}

/**
 * Authenticated API throughput (`GET /api/v1/auth/me`: token lookup + user lookup + settings read)
 * and `/health`, against a bare node:http server answering JSON, all in this run. The load
 * generator shares the machine's cores, so compare ratios, not absolute numbers.
 */
export async function benchApi(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const concurrency = 20;
  const bare = createHttpServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((ok) => bare.listen(0, "127.0.0.1", ok));
  const bareAddress = bare.address();
  const barePort = typeof bareAddress === "object" && bareAddress ? bareAddress.port : 0;

  const server = await createServer({
    config: loadConfig({ DUMONT_HOME: tempDir(), DUMONT_LOG_LEVEL: "warn", DUMONT_MARKET: "off" }),
  });
  const url = await server.app.listen({ port: 0, host: "127.0.0.1" });
  const register = await fetch(`${url}/api/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "bench@example.com", password: "correct horse battery" }),
  });
  const { token } = (await register.json()) as { token: string };

  const baseline = await load(`http://127.0.0.1:${barePort}/`, {}, { seconds, concurrency });
  const health = await load(`${url}/health`, {}, { seconds, concurrency });
  const me = await load(`${url}/api/v1/auth/me`, { authorization: `Bearer ${token}` }, { seconds, concurrency });
  const line = (name: string, r: { rps: number; p50: number }) =>
    `${name.padEnd(36)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  ×${(r.rps / baseline.rps).toFixed(2)} of baseline`;
  console.log(`api throughput (${concurrency} concurrent clients, ${seconds} s each, SQLite)`);
  console.log(line("bare node:http (baseline)", baseline));
  console.log(line("GET /health", health));
  console.log(line("GET /api/v1/auth/me (authenticated)", me));
  await server.close();
  bare.close();
}

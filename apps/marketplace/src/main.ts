import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { startMarketplace } from "./marketplace";
import { isProfile, PROFILES } from "./profiles";

/**
 * Standalone runner: `npx tsx apps/marketplace/src/main.ts --port 8800 --seed 1 --profile flaky`.
 * (`dumont market` in the CLI wraps the same `startMarketplace`.) Stops on SIGINT/SIGTERM,
 * killing every sandbox.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8800" },
      seed: { type: "string", default: "1" },
      profile: { type: "string", default: "healthy" },
      "time-scale": { type: "string", default: "1" },
      "api-key": { type: "string" },
      "data-dir": { type: "string" },
      machines: { type: "string", default: "300" },
      credit: { type: "string", default: "100" },
      "network-pool": { type: "string" },
      "log-level": { type: "string", default: "info" },
    },
  });
  const profile = values.profile;
  if (!isProfile(profile)) throw new Error(`--profile must be one of ${PROFILES.join(", ")}`);
  const dataDir = values["data-dir"] ?? (await mkdtemp(join(tmpdir(), "dumont-market-")));
  const logger = pino({ level: values["log-level"] });
  const market = await startMarketplace({
    host: values.host,
    port: Number(values.port),
    seed: Number(values.seed),
    profile,
    timeScale: Number(values["time-scale"]),
    apiKey: values["api-key"],
    dataDir,
    machines: Number(values.machines),
    credit: Number(values.credit),
    networkPool: values["network-pool"],
    logger,
  });
  process.stdout.write(
    `Simulated Vast.ai marketplace (not real GPUs) at ${market.url}\n` +
      `  profile ${profile}, seed ${values.seed}, time scale ${values["time-scale"]}, data in ${dataDir}\n` +
      (values["api-key"] ? "" : `  API key: ${market.apiKey}\n`) +
      `  machines reach this host at ${market.machineHostAddress} (dumont-host), and nothing on its 127.0.0.1\n` +
      `  try: curl -s -X POST ${market.url}/api/v0/bundles/ -d '{"limit":3}'\n`,
  );
  const stop = () => {
    void market.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

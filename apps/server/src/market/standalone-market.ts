import { homedir } from "node:os";
import { join } from "node:path";
import pino from "pino";

export interface StandaloneMarketOptions {
  host: string;
  port: number;
  seed: number;
  profile: "healthy" | "flaky" | "hostile";
  timeScale: number;
  apiKey: string | undefined;
  dataDir: string | undefined;
}

/**
 * `dumont market`: the local Vast-compatible marketplace on its own, so several servers (or the
 * real Vast CLI, or a crash test) can share one market that outlives them.
 */
export async function startStandaloneMarket(options: StandaloneMarketOptions): Promise<void> {
  const logger = pino({ level: process.env.DUMONT_LOG_LEVEL ?? "info" });
  const { startMarketplace } = await import("@dumont/marketplace");
  const market = await startMarketplace({
    host: options.host,
    port: options.port,
    seed: options.seed,
    profile: options.profile,
    timeScale: options.timeScale,
    apiKey: options.apiKey,
    dataDir: options.dataDir ?? join(process.env.DUMONT_HOME ?? join(homedir(), ".dumont"), "market-standalone"),
    logger,
  });
  logger.info(
    { url: market.url, profile: options.profile, seed: options.seed, timeScale: options.timeScale },
    "SIMULATED GPU marketplace ready (Vast.ai-compatible API; no real GPUs, no money)",
  );
  if (!options.apiKey) process.stderr.write(`market API key: ${market.apiKey}\n`);
  process.stderr.write(
    `Point a server at it: DUMONT_MARKET=vast DUMONT_VAST_URL=${market.url} VAST_API_KEY=<key> GCP_CREDENTIALS=${market.gcp.serviceAccountFile} GCP_COMPUTE_URL=${market.gcp.computeUrl} dumont server\n`,
  );
  const stop = () => {
    market.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

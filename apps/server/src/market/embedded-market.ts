import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { ServerConfig } from "../config";
import type { EmbeddedMarket } from "./market-registry";

/**
 * Starts the local Vast-compatible marketplace inside this process (the default when no Vast.ai
 * key is configured). Its account key is kept in DUMONT_HOME so restarts reuse it.
 */
export async function startEmbeddedMarket(options: {
  config: ServerConfig;
  logger: Logger;
}): Promise<EmbeddedMarket & { close(): Promise<void> }> {
  const { config, logger } = options;
  const keyFile = join(config.home, "market.key");
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  const apiKey = readFileSync(keyFile, "utf8").trim();
  const { startMarketplace } = await import("@dumont/marketplace");
  const market = await startMarketplace({
    apiKey,
    dataDir: join(config.home, "market"),
    seed: config.marketSeed,
    profile: config.marketProfile,
    timeScale: config.marketTimeScale,
    logger,
  });
  logger.warn(
    { url: market.url, profile: config.marketProfile },
    "GPU market is SIMULATED (local marketplace on this computer; no real GPUs, no money). Set VAST_API_KEY to rent real machines.",
  );
  return { url: market.url, apiKey: market.apiKey, gcp: market.gcp, close: () => market.close() };
}

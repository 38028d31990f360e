import type { FastifyInstance } from "fastify";
import type { MarketContext } from "../market-context";
import { GPU_MODELS } from "../market/gpu-catalog";
import { optionalAccount } from "./auth";

/**
 * `GET /api/v0/gpu_names/unique/`: the GPU model names Vast knows, which the official CLI fetches
 * at start-up (and caches for a day) to check and complete `gpu_name` filters. The CLI sends it with
 * no key at all, so it is anonymous like offer search; a key that is sent must still be valid.
 */
export function registerCatalogRoutes(app: FastifyInstance, ctx: MarketContext): void {
  app.get("/api/v0/gpu_names/unique/", (request) => {
    optionalAccount(ctx, request);
    const names = [...new Set(GPU_MODELS.map((m) => m.name))].sort((a, b) => a.localeCompare(b));
    return { success: true, gpu_names: names };
  });
}

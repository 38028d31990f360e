import type { FastifyInstance, FastifyRequest } from "fastify";
import type { MarketContext } from "../market-context";
import { searchOffers } from "../market/offer-search";
import { optionalAccount } from "./auth";
import { VastError } from "./vast-error";

/**
 * Offer search (vast-api.md §2): `POST /api/v0/bundles/` with the query as body (anonymous
 * allowed), the legacy `GET /api/v0/bundles/?q=<json>`, and the CLI's experimental
 * `PUT /api/v0/search/asks/ {"q": …}`. The reply is `{"offers": [...]}`.
 */
export function registerOfferRoutes(app: FastifyInstance, ctx: MarketContext): void {
  const search = (request: FastifyRequest, query: unknown) => {
    if (query === undefined || query === null) query = {};
    if (typeof query !== "object" || Array.isArray(query)) {
      throw new VastError(400, "invalid_request", "Invalid json body");
    }
    const account = optionalAccount(ctx, request);
    const offers = searchOffers(ctx.market, query as Record<string, unknown>, {
      nowS: ctx.clock.nowSeconds(),
      host: ctx.host,
      rentedMachines: ctx.manager.rentedMachines(account),
    });
    return { offers };
  };

  app.post("/api/v0/bundles/", (request) => search(request, request.body));
  app.get("/api/v0/bundles/", (request) => {
    const q = (request.query as Record<string, unknown>).q;
    if (q === undefined) return search(request, {});
    if (typeof q !== "string") throw new VastError(400, "invalid_request", "Invalid q parameter");
    let parsed: unknown;
    try {
      parsed = JSON.parse(q);
    } catch {
      throw new VastError(400, "invalid_request", "Invalid json in q parameter");
    }
    return search(request, parsed);
  });
  app.put("/api/v0/search/asks/", (request) => {
    const body = request.body as Record<string, unknown> | undefined;
    return search(request, body?.q ?? {});
  });
}

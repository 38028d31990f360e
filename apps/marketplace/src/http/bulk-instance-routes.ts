import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Instance } from "../instances/instance";
import { QUEUED_MSG } from "../instances/instance-manager";
import type { MarketContext } from "../market-context";
import { authenticate, type Principal } from "./auth";
import { ownedInstance } from "./owned-instance";
import { numeric } from "./schemas";
import { parseBody, VastError } from "./vast-error";

const MAX_IDS = 100;
const Ids = z.array(numeric.pipe(z.number().int().positive())).min(1).max(MAX_IDS);
const BulkStateBody = z.looseObject({ state: z.enum(["running", "stopped"]), ids: Ids });
const BulkDestroyBody = z.looseObject({ instance_ids: Ids });

/**
 * The official CLI's several-at-once calls (vast-api.md §3.1 #7 and #9): `PUT /api/v0/instances/`
 * `{"state", "ids"}` starts or stops each, `DELETE /api/v0/instances/` `{"instance_ids"}` destroys
 * each. Every id must be the caller's, checked before anything changes: one foreign or unknown id
 * refuses the whole call with Vast's not-found, so a batch never half-applies on a typo.
 */
export function registerBulkInstanceRoutes(app: FastifyInstance, ctx: MarketContext): void {
  const ownedAll = (principal: Principal, ids: readonly number[]): Instance[] =>
    [...new Set(ids)].map((id) => ownedInstance(ctx, principal, id));

  app.put("/api/v0/instances/", async (request) => {
    const principal = authenticate(ctx, request);
    const { state, ids } = parseBody(BulkStateBody, request.body);
    const instances = ownedAll(principal, ids);
    if (state === "running") {
      ctx.manager.billing.accrue(principal.account);
      if (principal.account.credit <= 0) {
        throw new VastError(400, "insufficient_credit", "Insufficient credit: add credit before starting an instance.");
      }
    }
    const results: { id: number; success: boolean; msg?: string }[] = [];
    for (const instance of instances) {
      if (state === "stopped") {
        await ctx.manager.stop(instance);
        results.push({ id: instance.id, success: true });
        continue;
      }
      switch (ctx.manager.start(instance)) {
        case "queued":
          results.push({ id: instance.id, success: false, msg: QUEUED_MSG });
          break;
        case "no_credit":
          results.push({ id: instance.id, success: false, msg: "Insufficient credit." });
          break;
        case "started":
        case "already":
          results.push({ id: instance.id, success: true });
          break;
      }
    }
    return { success: results.every((r) => r.success), results };
  });

  app.delete("/api/v0/instances/", async (request) => {
    const principal = authenticate(ctx, request);
    const { instance_ids } = parseBody(BulkDestroyBody, request.body);
    const instances = ownedAll(principal, instance_ids);
    for (const instance of instances) await ctx.manager.destroy(instance);
    return { success: true, results: instances.map((i) => ({ id: i.id, success: true })) };
  });
}

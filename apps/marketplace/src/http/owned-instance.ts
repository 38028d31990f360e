import type { Instance } from "../instances/instance";
import type { MarketContext } from "../market-context";
import type { Principal } from "./auth";
import { VastError } from "./vast-error";

/**
 * The caller's instance, or Vast's not-found answer for it: another account's id, or an id an
 * instance key does not own, reads exactly like an id that never existed, so ids of others leak
 * nothing. `notFound` is the endpoint's own not-found error (vast-api.md §3.1).
 */
export function ownedInstance(
  ctx: MarketContext,
  principal: Principal,
  id: number,
  notFound: (id: number) => VastError = (missing) =>
    new VastError(404, "no_such_instance", `Instance ${missing} not found.`),
): Instance {
  const instance = ctx.manager.get(id);
  if (!instance || instance.account !== principal.account) throw notFound(id);
  if (principal.instanceId !== undefined && principal.instanceId !== id) throw notFound(id);
  return instance;
}

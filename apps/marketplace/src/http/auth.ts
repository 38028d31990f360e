import type { FastifyRequest } from "fastify";
import type { Account } from "../accounts";
import type { MarketContext } from "../market-context";
import { authRequired, invalidKey, VastError } from "./vast-error";

/** Who is calling: an account key, or an instance's `instance_api_key` (that instance only). */
export interface Principal {
  account: Account;
  /** Set when the key is an instance key: it may only start, stop, read or destroy this one. */
  instanceId: number | undefined;
}

/** The key from `Authorization: Bearer …`, else the legacy `?api_key=` (vast-api.md §1.2). */
export function apiKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return match[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.api_key;
  return typeof fromQuery === "string" && fromQuery !== "" ? fromQuery : undefined;
}

/** Missing key → 403 "This action requires login."; unknown key → 401 "Invalid user key". */
export function authenticate(ctx: MarketContext, request: FastifyRequest): Principal {
  const key = apiKeyOf(request);
  if (!key) throw authRequired();
  const account = ctx.accounts.byApiKey(key);
  if (account) return { account, instanceId: undefined };
  const instance = ctx.manager.all().find((i) => i.instanceApiKey === key);
  if (instance) return { account: instance.account, instanceId: instance.id };
  throw invalidKey();
}

/** Like `authenticate`, but refuses instance keys (account-wide endpoints). */
export function authenticateAccount(ctx: MarketContext, request: FastifyRequest): Account {
  const principal = authenticate(ctx, request);
  if (principal.instanceId !== undefined)
    throw new VastError(403, "not_authorized", "An instance API key cannot use this endpoint.");
  return principal.account;
}

/** Offer search works anonymously; a key, when sent, must still be valid. */
export function optionalAccount(ctx: MarketContext, request: FastifyRequest): Account | undefined {
  if (!apiKeyOf(request)) return undefined;
  return authenticate(ctx, request).account;
}

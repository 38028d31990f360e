import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { MarketContext } from "../market-context";
import { authenticateAccount } from "./auth";
import { parseBody, VastError } from "./vast-error";

/** What a shell can export; instances get these as environment variables. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_VARIABLES = 200;

const KeyValueBody = z.looseObject({
  key: z
    .string()
    .regex(ENV_NAME, "must be an environment variable name (letters, digits, _; not starting with a digit)"),
  value: z.string().max(65_536),
});
const KeyBody = z.looseObject({ key: z.string().min(1) });

/**
 * Account-level environment variables, which Vast keeps under `/api/v0/secrets/` (the official
 * CLI's `show|create|update|delete env-var`): `GET` → `{"secrets": {name: value}}`, `POST` and
 * `PUT` `{"key", "value"}`, `DELETE` `{"key"}`. Every instance created afterwards gets them in its
 * environment (the create's own `env` wins on a clash); running instances keep what they had.
 */
export function registerSecretRoutes(app: FastifyInstance, ctx: MarketContext): void {
  app.get("/api/v0/secrets/", (request) => {
    const account = authenticateAccount(ctx, request);
    return { success: true, secrets: Object.fromEntries(account.envVars) };
  });

  app.post("/api/v0/secrets/", (request) => {
    const account = authenticateAccount(ctx, request);
    const { key, value } = parseBody(KeyValueBody, request.body);
    if (account.envVars.has(key)) {
      throw new VastError(400, "invalid_args", `Environment variable ${key} already exists; update it with PUT.`);
    }
    if (account.envVars.size >= MAX_VARIABLES) {
      throw new VastError(400, "invalid_args", `An account holds at most ${MAX_VARIABLES} environment variables.`);
    }
    account.envVars.set(key, value);
    return { success: true, msg: `Environment variable ${key} created.` };
  });

  app.put("/api/v0/secrets/", (request) => {
    const account = authenticateAccount(ctx, request);
    const { key, value } = parseBody(KeyValueBody, request.body);
    if (!account.envVars.has(key)) throw notFound(key);
    account.envVars.set(key, value);
    return { success: true, msg: `Environment variable ${key} updated.` };
  });

  app.delete("/api/v0/secrets/", (request) => {
    const account = authenticateAccount(ctx, request);
    const { key } = parseBody(KeyBody, request.body);
    if (!account.envVars.delete(key)) throw notFound(key);
    return { success: true, msg: `Environment variable ${key} deleted.` };
  });
}

function notFound(key: string): VastError {
  return new VastError(404, "not_found", `No environment variable named ${key}.`);
}

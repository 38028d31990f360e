import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createServer, loadConfig, type Server } from "@dumont/server";
import { dropTestSchema, tempDir, testDatabase, type TestDialectName } from "./dialects";

export interface InProcessServer {
  server: Server;
  app: FastifyInstance;
  home: string;
  close(): Promise<void>;
}

/**
 * A real server (real database, real controllers) in this process, driven with `app.inject` so
 * API tests open no ports. Extra environment goes through the same config parser as production;
 * registration is open unless the test says otherwise.
 */
export async function startInProcessServer(
  options: {
    dialect?: TestDialectName;
    env?: Record<string, string>;
    logger?: Logger;
    startControllers?: boolean;
  } = {},
): Promise<InProcessServer> {
  const database = testDatabase(options.dialect ?? "sqlite");
  const home = tempDir();
  const config = loadConfig({
    DUMONT_HOME: home,
    DUMONT_LOG_LEVEL: "silent",
    DUMONT_POLL_MS: "50",
    // Most tests register several users freely (the first is the operator). Tests of the real
    // default pass DUMONT_REGISTRATION: "" (unset).
    DUMONT_REGISTRATION: "open",
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...(database.pgSchema ? { DUMONT_PG_SCHEMA: database.pgSchema } : {}),
    ...options.env,
  });
  const server = await createServer({ config, logger: options.logger, startControllers: options.startControllers });
  return {
    server,
    app: server.app,
    home,
    close: async () => {
      await server.close();
      await dropTestSchema(database);
    },
  };
}

export interface Account {
  email: string;
  password: string;
  token: string;
  userId: string;
}

let accountCounter = 0;

/** Registers a fresh user and returns its session token. */
export async function registerAccount(app: FastifyInstance, prefix = "user"): Promise<Account> {
  accountCounter += 1;
  const email = `${prefix}${accountCounter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = "correct horse battery";
  const response = await app.inject({ method: "POST", url: "/api/v1/auth/register", payload: { email, password } });
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`);
  const body = response.json<{ token: string; user: { id: string } }>();
  return { email, password, token: body.token, userId: body.user.id };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

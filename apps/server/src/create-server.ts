import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { hostname } from "node:os";
import pino, { type Logger } from "pino";
import {
  CanariesRepository,
  ControlledStore,
  EventsRepository,
  SettingsRepository,
  TokensRepository,
  UsersRepository,
  dialectFor,
  openDatabase,
} from "@dumont/db";
import type { FastifyInstance } from "fastify";
import type { ServerConfig } from "./config";
import type { ServerContext } from "./server-context";
import { SecretBox } from "./security/secret-box";
import { LoginThrottle } from "./security/login-throttle";
import { AuthService } from "./services/auth-service";
import { SettingsService } from "./services/settings-service";
import { BalanceService } from "./services/balance-service";
import { CanaryController } from "./controllers/canary-controller";
import { ControllerRunner } from "./controllers/controller-runner";
import { createMetrics } from "./http/metrics";
import { LOG_REDACTIONS, buildApp } from "./http/app";
import { SERVER_VERSION } from "./version";

export interface Server {
  app: FastifyInstance;
  context: ServerContext;
  /** Stops controllers (releasing leases), closes HTTP and the database. */
  close(): Promise<void>;
}

export interface CreateServerOptions {
  config: ServerConfig;
  logger?: Logger;
  /** Start the controller runner (tests of pure HTTP behaviour may leave it off). */
  startControllers?: boolean;
}

export async function createServer(options: CreateServerOptions): Promise<Server> {
  const { config } = options;
  const logger =
    options.logger ?? pino({ level: config.logLevel, redact: { paths: LOG_REDACTIONS, censor: "[redacted]" } });
  const now = () => Date.now();
  const replicaId = config.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const dialect = dialectFor({
    url: config.databaseUrl,
    sqliteFile: config.sqliteFile,
    postgresSchema: config.pgSchema,
  });
  const database = await openDatabase(dialect);
  const { db } = database;
  const repos = {
    users: new UsersRepository(db, dialect),
    tokens: new TokensRepository(db),
    settings: new SettingsRepository(db),
    events: new EventsRepository(db),
    canaries: new CanariesRepository(db),
  };
  const store = new ControlledStore(db, dialect);
  const box = SecretBox.fromConfig({ secretKey: config.secretKey, home: config.home });
  const settings = new SettingsService(repos.settings, box, now);
  const throttle = new LoginThrottle({
    maxFailuresPerAccount: config.loginMaxFailures,
    maxAttemptsPerIp: config.ipMaxAttempts,
    windowMs: config.loginWindowMs,
    now,
  });
  const auth = new AuthService({
    users: repos.users,
    tokens: repos.tokens,
    throttle,
    sessionTtlMs: config.sessionTtlMs,
    now,
  });
  const metrics = createMetrics();
  const canaryController = new CanaryController(join(config.home, "canaries"), config.drillKillAfterCanaryStep);
  const runner = new ControllerRunner({
    store,
    controllers: [canaryController],
    owner: replicaId,
    leaseMs: config.leaseMs,
    pollMs: config.pollMs,
    concurrency: config.controllerConcurrency,
    logger: logger.child({ component: "controllers" }),
    metrics,
  });
  const context: ServerContext = {
    config,
    version: SERVER_VERSION,
    replicaId,
    database,
    repos,
    store,
    auth,
    settings,
    balance: new BalanceService(settings, { vastUrl: config.vastUrl, serverVastKey: config.vastApiKey }),
    canaryController,
    runner,
    metrics,
    logger,
    now,
  };
  const app = await buildApp(context);
  await app.ready();
  if (options.startControllers ?? true) runner.start();
  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    close: () =>
      (closing ??= (async () => {
        await runner.stop();
        await app.close();
        await database.close();
      })()),
  };
}

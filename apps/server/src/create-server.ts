import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { hostname } from "node:os";
import pino, { type Logger } from "pino";
import {
  CanariesRepository,
  ControlledStore,
  EventsRepository,
  InstancesRepository,
  SshKeysRepository,
  HistoryRepository,
  DeploymentsRepository,
  JobsRepository,
  InvitesRepository,
  SpendingRepository,
  InstallationRepository,
  OrphanCandidatesRepository,
  SettingsRepository,
  TokensRepository,
  UsersRepository,
  StandbyRepository,
  dialectFor,
  openDatabase,
} from "@dumont/db";
import type { FastifyInstance } from "fastify";
import type { ServerConfig } from "./config";
import type { ServerContext } from "./server-context";
import { makeHomePrivate, touchPrivate } from "./security/private-home";
import { SecretBox } from "./security/secret-box";
import { LoginThrottle } from "./security/login-throttle";
import { AuthService } from "./auth/auth-service";
import { SettingsService } from "./account/settings-service";
import { BalanceService } from "./account/balance-service";
import { SpendingService } from "./spending/spending-service";
import { InviteService } from "./admin/invite-service";
import { CanaryController } from "./canary/canary-controller";
import { ControllerRunner } from "./controllers/controller-runner";
import { wakeDependents } from "./controllers/dependent-wakeups";
import { createMetrics } from "./http/metrics";
import { MarketRegistry, type EmbeddedMarket } from "./market/market-registry";
import { startEmbeddedMarket } from "./market/embedded-market";
import { InstanceService } from "./instances/instance-service";
import { ModelInstaller } from "./instances/model-installer";
import { HistoryService } from "./history/history-service";
import { SshKeyService } from "./account/ssh-key-service";
import { SshKeyPropagation } from "./account/ssh-key-propagation";
import { InstanceController } from "./instances/instance-controller";
import { OrphanCollector } from "./instances/orphan-collector";
import { newInstallationId } from "./instances/machine-label";
import { DeploymentController } from "./wizard/deployment-controller";
import { WizardService } from "./wizard/wizard-service";
import { JobController } from "./jobs/job-controller";
import { JobService } from "./jobs/job-service";
import { JobCosts } from "./jobs/job-cost";
import { StandbyController } from "./standby/standby-controller";
import { StandbyMarkets } from "./standby/standby-markets";
import { StandbyOrphans } from "./standby/standby-orphans";
import { StandbyService } from "./standby/standby-service";
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
  makeHomePrivate(config.home);
  // SQLite creates its -wal and -shm files with the database file's mode, so 0600 carries over.
  if (!config.databaseUrl) touchPrivate(config.sqliteFile);
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
    instances: new InstancesRepository(db),
    sshKeys: new SshKeysRepository(db),
    history: new HistoryRepository(db),
    deployments: new DeploymentsRepository(db, dialect),
    jobs: new JobsRepository(db),
    invites: new InvitesRepository(db),
    standby: new StandbyRepository(db),
  };
  const store = new ControlledStore(db, dialect);
  const installationId = await new InstallationRepository(db).ensureId(newInstallationId(), now());
  const box = SecretBox.fromConfig({ secretKey: config.secretKey, home: config.home });
  const settings = new SettingsService(repos.settings, box, now);
  const throttle = new LoginThrottle({
    maxFailuresPerAccount: config.loginMaxFailures,
    maxAttemptsPerIp: config.ipMaxAttempts,
    windowMs: config.loginWindowMs,
    maxDelayMs: config.loginMaxDelayMs,
    now,
  });
  const auth = new AuthService({
    users: repos.users,
    tokens: repos.tokens,
    throttle,
    sessionTtlMs: config.sessionTtlMs,
    registration: config.registration,
    now,
  });
  const metrics = createMetrics();
  let embeddedMarket: (EmbeddedMarket & { close(): Promise<void> }) | undefined;
  if (config.market === "embedded") {
    embeddedMarket = await startEmbeddedMarket({ config, logger: logger.child({ component: "market" }) });
  }
  const markets = new MarketRegistry({
    settings,
    vastUrl: config.vastUrl,
    serverVastKey: config.market === "vast" ? config.vastApiKey : undefined,
    embedded: embeddedMarket,
  });
  const standbyMarkets = new StandbyMarkets({
    settings,
    embedded: embeddedMarket?.gcp,
    serverCredentials: config.gcpCredentials,
    serverComputeUrl: config.gcpComputeUrl,
  });
  const spending = new SpendingService({
    spending: new SpendingRepository(db),
    users: repos.users,
    markets,
    defaultCapUsd: config.defaultSpendCapUsd,
    now,
  });
  const sshKeys = new SshKeyService(
    repos.sshKeys,
    box,
    now,
    new SshKeyPropagation({ instances: repos.instances, markets }),
  );
  const history = new HistoryService(repos.history, now, logger.child({ component: "history" }));
  const instanceController = new InstanceController({
    markets,
    sshKeys,
    history,
    box,
    pollMs: config.instancePollMs,
    idlePollMs: config.instanceIdlePollMs,
    bootTimeoutMs: config.bootTimeoutMs,
    drillKillAfterCreate: config.drillKillAfterMachineCreate,
    releaseOfferClaims: (instanceId) => repos.deployments.releaseClaims(instanceId),
  });
  const orphanCollector = new OrphanCollector({
    markets,
    instances: repos.instances,
    candidates: new OrphanCandidatesRepository(db),
    installationId,
    graceMs: config.orphanGraceMs,
    intervalMs: config.collectIntervalMs,
    logger: logger.child({ component: "orphan-collector" }),
    now,
    standby: new StandbyOrphans({
      standbyMarkets,
      standby: repos.standby,
      installationId,
      graceMs: config.orphanGraceMs,
      logger: logger.child({ component: "orphan-collector" }),
      now,
    }),
  });
  // Services wake the runner after writing work for it; the closure runs only once it exists.
  const wake = () => runner.wake();
  const instances = new InstanceService({
    markets,
    instances: repos.instances,
    store,
    history,
    deployments: repos.deployments,
    spending,
    installationId,
    box,
    wake,
    now,
  });
  const deploymentController = new DeploymentController({
    deployments: repos.deployments,
    instances,
    store,
    sshKeys,
    history,
    // A fallback: its candidates' status changes make it due at once (wakeDependents).
    pollMs: config.instancePollMs,
    searchTimeoutMs: config.searchTimeoutMs,
    onWinner: async (row, deployConfig, winnerId) => {
      if (!deployConfig.standby) return;
      try {
        await standby.provisionForWinner(row.owner_id, winnerId, row.id);
      } catch (error) {
        // The race must still complete; the instance simply has no standby (provision it by hand).
        logger.warn(
          { err: error, deployment: row.id, instance: winnerId },
          "the winner's standby could not be created",
        );
      }
    },
  });
  const wizard = new WizardService({
    deployments: repos.deployments,
    store,
    markets,
    instances,
    wake,
    now,
  });
  const jobController = new JobController({
    wizard,
    instances,
    instanceRows: repos.instances,
    deployments: repos.deployments,
    sshKeys,
    box,
    storeDir: join(config.home, "jobs"),
    limits: config.jobLimits,
    provisionTimeoutMs: config.jobProvisionTimeoutMs,
    pollMs: config.jobPollMs,
    checkpointEveryMs: config.checkpointEveryMs,
  });
  const jobs = new JobService({
    jobs: repos.jobs,
    store,
    markets,
    box,
    logLimitBytes: config.jobLimits.logBytes,
    controller: jobController,
    costs: new JobCosts({ instances: repos.instances, deployments: repos.deployments, now }),
    wake,
    now,
  });
  const standbyController = new StandbyController({
    standby: repos.standby,
    standbyMarkets,
    markets,
    instances,
    instanceRows: repos.instances,
    deployments: repos.deployments,
    wizard,
    sshKeys,
    box,
    installationId,
    health: config.standbyHealth,
    pollMs: Math.min(config.instancePollMs, 2000),
    drillKillAt: config.drillKillInStandby,
  });
  const standby = new StandbyService({
    standby: repos.standby,
    instances: repos.instances,
    store,
    standbyMarkets,
    spending,
    box,
    wake,
    nudge: (id) => runner.nudge("standby_associations", id),
    now,
  });
  const canaryController = new CanaryController(join(config.home, "canaries"), config.drillKillAfterCanaryStep);
  const runner = new ControllerRunner({
    store,
    controllers: [canaryController, instanceController, deploymentController, jobController, standbyController],
    owner: replicaId,
    leaseMs: config.leaseMs,
    pollMs: config.pollMs,
    concurrency: config.controllerConcurrency,
    logger: logger.child({ component: "controllers" }),
    metrics,
  });
  wakeDependents({ store, runner, jobs: repos.jobs, logger: logger.child({ component: "controllers" }) });
  const context: ServerContext = {
    config,
    version: SERVER_VERSION,
    replicaId,
    installationId,
    database,
    repos,
    store,
    auth,
    settings,
    balance: new BalanceService(markets, spending),
    spending,
    invites: new InviteService({ invites: repos.invites, now }),
    canaryController,
    markets,
    instances,
    sshKeys,
    models: new ModelInstaller(instances, sshKeys, config.ollamaInstallUrl),
    history,
    wizard,
    jobs,
    standby,
    standbyMarkets,
    orphanCollector,
    runner,
    metrics,
    logger,
    now,
  };
  const app = await buildApp(context);
  await app.ready();
  if (options.startControllers ?? true) {
    runner.start();
    orphanCollector.start();
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    close: () =>
      (closing ??= (async () => {
        await orphanCollector.stop();
        await runner.stop();
        await app.close();
        await database.close();
        await embeddedMarket?.close();
      })()),
  };
}

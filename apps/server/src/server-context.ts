import type { Logger } from "pino";
import type { OpenedDatabase } from "@dumont/db";
import type {
  CanariesRepository,
  ControlledStore,
  EventsRepository,
  InstancesRepository,
  SshKeysRepository,
  HistoryRepository,
  DeploymentsRepository,
  JobsRepository,
  InvitesRepository,
  SettingsRepository,
  TokensRepository,
  UsersRepository,
  StandbyRepository,
} from "@dumont/db";
import type { ServerConfig } from "./config";
import type { AuthService } from "./auth/auth-service";
import type { SettingsService } from "./account/settings-service";
import type { BalanceService } from "./account/balance-service";
import type { SpendingService } from "./spending/spending-service";
import type { InviteService } from "./admin/invite-service";
import type { CanaryController } from "./canary/canary-controller";
import type { ControllerRunner } from "./controllers/controller-runner";
import type { Metrics } from "./http/metrics";
import type { MarketRegistry } from "./market/market-registry";
import type { InstanceService } from "./instances/instance-service";
import type { SshKeyService } from "./account/ssh-key-service";
import type { ModelInstaller } from "./instances/model-installer";
import type { HistoryService } from "./history/history-service";
import type { WizardService } from "./wizard/wizard-service";
import type { JobService } from "./jobs/job-service";
import type { OrphanCollector } from "./instances/orphan-collector";
import type { StandbyService } from "./standby/standby-service";
import type { StandbyMarkets } from "./standby/standby-markets";

/** Everything a request handler may use, built once per server in `createServer`. No singletons. */
export interface ServerContext {
  config: ServerConfig;
  version: string;
  replicaId: string;
  /** Created once per database (shared by its replicas); the middle part of every machine label. */
  installationId: string;
  database: OpenedDatabase;
  repos: {
    users: UsersRepository;
    tokens: TokensRepository;
    settings: SettingsRepository;
    events: EventsRepository;
    canaries: CanariesRepository;
    instances: InstancesRepository;
    sshKeys: SshKeysRepository;
    history: HistoryRepository;
    deployments: DeploymentsRepository;
    jobs: JobsRepository;
    invites: InvitesRepository;
    standby: StandbyRepository;
  };
  store: ControlledStore;
  auth: AuthService;
  settings: SettingsService;
  balance: BalanceService;
  spending: SpendingService;
  invites: InviteService;
  canaryController: CanaryController;
  markets: MarketRegistry;
  instances: InstanceService;
  sshKeys: SshKeyService;
  models: ModelInstaller;
  history: HistoryService;
  wizard: WizardService;
  jobs: JobService;
  standby: StandbyService;
  standbyMarkets: StandbyMarkets;
  orphanCollector: OrphanCollector;
  runner: ControllerRunner;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

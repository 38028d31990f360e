import type { Logger } from "pino";
import type { OpenedDatabase } from "@dumont/db";
import type {
  CanariesRepository,
  ControlledStore,
  EventsRepository,
  SettingsRepository,
  TokensRepository,
  UsersRepository,
} from "@dumont/db";
import type { ServerConfig } from "./config";
import type { AuthService } from "./services/auth-service";
import type { SettingsService } from "./services/settings-service";
import type { BalanceService } from "./services/balance-service";
import type { CanaryController } from "./controllers/canary-controller";
import type { ControllerRunner } from "./controllers/controller-runner";
import type { Metrics } from "./http/metrics";

/** Everything a request handler may use, built once per server in `createServer`. No singletons. */
export interface ServerContext {
  config: ServerConfig;
  version: string;
  replicaId: string;
  database: OpenedDatabase;
  repos: {
    users: UsersRepository;
    tokens: TokensRepository;
    settings: SettingsRepository;
    events: EventsRepository;
    canaries: CanariesRepository;
  };
  store: ControlledStore;
  auth: AuthService;
  settings: SettingsService;
  balance: BalanceService;
  canaryController: CanaryController;
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

import type { Logger } from "pino";
import type { Accounts } from "./accounts";
import type { SimClock } from "./clock";
import type { InstanceLogs } from "./instances/instance-logs";
import type { InstanceManager } from "./instances/instance-manager";
import type { ResultStore } from "./instances/result-store";
import type { Machine } from "./market/machine";
import type { Market } from "./market/market";
import type { FaultProfile, HostFaults, Profile } from "./profiles";
import type { Rng } from "./random";

/** API-level faults: answered before the request reaches a route. */
export interface ApiFaults {
  rate429: number;
  rate5xx: number;
  lostCreateReply: number;
  rng: Rng;
}

/** Everything the HTTP routes work on. */
export interface MarketContext {
  host: string;
  seed: number;
  profileName: Profile;
  profile: FaultProfile;
  clock: SimClock;
  market: Market;
  accounts: Accounts;
  manager: InstanceManager;
  /** Daemon and container logs per instance (request_logs). */
  logs: InstanceLogs;
  /** Where execute and request_logs put their text (`result_url`). */
  results: ResultStore;
  apiFaults: ApiFaults;
  /** Per-host fault traits (profile draw), with /sim overrides of the boot failure probability. */
  hostFaults: (machine: Machine) => HostFaults;
  setBootFailure: (machine: Machine, probability: number) => void;
  logger: Logger;
}

import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";

const PositiveInt = z.coerce.number().int().positive();

/** Where a standby crash drill kills the server (see StandbyController). */
export const STANDBY_DRILL_POINTS = ["after_switch", "after_race_started", "mid_restore"] as const;
export type StandbyDrillPoint = (typeof STANDBY_DRILL_POINTS)[number];

/** Environment variables the server reads, parsed once at start-up. */
const EnvSchema = z.object({
  DUMONT_HOME: z.string().min(1).optional(),
  DATABASE_URL: z.string().optional(),
  DUMONT_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "lowercase letters, digits and _")
    .optional(),
  DUMONT_SECRET_KEY: z.string().optional(),
  DUMONT_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DUMONT_LEASE_MS: PositiveInt.default(15_000),
  DUMONT_POLL_MS: PositiveInt.default(500),
  DUMONT_CONTROLLER_CONCURRENCY: PositiveInt.default(16),
  DUMONT_LOGIN_MAX_FAILURES: PositiveInt.default(5),
  DUMONT_LOGIN_WINDOW_S: PositiveInt.default(900),
  DUMONT_LOGIN_MAX_DELAY_S: PositiveInt.default(900),
  DUMONT_IP_MAX_ATTEMPTS: PositiveInt.default(60),
  DUMONT_SESSION_DAYS: PositiveInt.default(30),
  DUMONT_BODY_LIMIT: PositiveInt.default(1_048_576),
  DUMONT_REPLICA_ID: z.string().max(64).optional(),
  DUMONT_DRILL_KILL_AFTER_CANARY_STEP: PositiveInt.optional(),
  DUMONT_DRILL_KILL_AFTER_MACHINE_CREATE: z.enum(["0", "1"]).default("0"),
  DUMONT_DRILL_KILL_IN_STANDBY: z.enum(STANDBY_DRILL_POINTS).optional(),
  VAST_API_KEY: z.string().optional(),
  DUMONT_MARKET: z.enum(["auto", "embedded", "vast", "off"]).default("auto"),
  DUMONT_MARKET_PROFILE: z.enum(["healthy", "flaky", "hostile"]).default("healthy"),
  DUMONT_MARKET_SEED: z.coerce.number().int().default(1),
  DUMONT_MARKET_TIME_SCALE: z.coerce.number().positive().max(100).default(1),
  DUMONT_ORPHAN_GRACE_S: z.coerce.number().min(0).default(120),
  DUMONT_COLLECT_INTERVAL_S: z.coerce.number().positive().default(60),
  DUMONT_INSTANCE_POLL_MS: PositiveInt.default(3000),
  DUMONT_INSTANCE_IDLE_POLL_MS: PositiveInt.default(30_000),
  DUMONT_JOB_POLL_MS: PositiveInt.default(2000),
  DUMONT_CHECKPOINT_EVERY_S: PositiveInt.default(30),
  DUMONT_BOOT_TIMEOUT_S: PositiveInt.default(900),
  DUMONT_SEARCH_TIMEOUT_S: PositiveInt.default(300),
  DUMONT_OLLAMA_INSTALL_URL: z.url().default("https://ollama.com/install.sh"),
  DUMONT_VAST_URL: z.url().default("https://console.vast.ai"),
  DUMONT_JOB_LOG_MAX_BYTES: PositiveInt.default(64 * 1024 * 1024),
  DUMONT_JOB_OUTPUT_MAX_BYTES: PositiveInt.default(10 * 1024 * 1024 * 1024),
  DUMONT_JOB_CHECKPOINT_MAX_BYTES: PositiveInt.default(10 * 1024 * 1024 * 1024),
  DUMONT_JOB_MAX_FILES: PositiveInt.default(100_000),
  DUMONT_MIN_FREE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(1024 * 1024 * 1024),
  DUMONT_JOB_PROVISION_TIMEOUT_S: PositiveInt.default(1800),
  // Empty means unset: the default policy (open until an operator exists, then invite).
  DUMONT_REGISTRATION: z.preprocess((v) => (v === "" ? undefined : v), z.enum(["open", "invite", "closed"]).optional()),
  DUMONT_DEFAULT_SPEND_CAP_USD: z.coerce.number().min(0).max(1_000_000).default(10),
  /** A service-account JSON, or the path of one: the server's GCP project for CPU standbys. */
  GCP_CREDENTIALS: z.string().optional(),
  GCP_COMPUTE_URL: z.url().default("https://compute.googleapis.com/compute/v1"),
  DUMONT_STANDBY_HEALTH_S: z.coerce.number().positive().default(10),
  DUMONT_STANDBY_RECHECK_S: z.coerce.number().positive().default(2),
  DUMONT_STANDBY_HEALTH_FAILURES: PositiveInt.default(3),
});

export interface ServerConfig {
  home: string;
  databaseUrl: string | undefined;
  pgSchema: string | undefined;
  sqliteFile: string;
  secretKey: string | undefined;
  logLevel: z.infer<typeof EnvSchema>["DUMONT_LOG_LEVEL"];
  leaseMs: number;
  pollMs: number;
  controllerConcurrency: number;
  loginMaxFailures: number;
  loginWindowMs: number;
  loginMaxDelayMs: number;
  ipMaxAttempts: number;
  sessionTtlMs: number;
  bodyLimit: number;
  replicaId: string | undefined;
  /** Crash drill: see CanaryController. Never set in production. */
  drillKillAfterCanaryStep: number | undefined;
  /** Crash drill: see InstanceController. Never set in production. */
  drillKillAfterMachineCreate: boolean;
  /** Crash drill: see StandbyController. Never set in production. */
  drillKillInStandby: StandbyDrillPoint | undefined;
  vastApiKey: string | undefined;
  vastUrl: string;
  /** auto = Vast.ai when VAST_API_KEY is set, else the embedded simulated marketplace. */
  market: "embedded" | "vast" | "off";
  marketProfile: "healthy" | "flaky" | "hostile";
  marketSeed: number;
  marketTimeScale: number;
  orphanGraceMs: number;
  collectIntervalMs: number;
  instancePollMs: number;
  instanceIdlePollMs: number;
  jobPollMs: number;
  checkpointEveryMs: number;
  bootTimeoutMs: number;
  /** A deployment whose offer search keeps failing gives up after this long. */
  searchTimeoutMs: number;
  /** Where `model install` downloads the Ollama installer from (on the rented machine). */
  ollamaInstallUrl: string;
  /** What a job may bring back: its log (head + tail kept), outputs and checkpoint. */
  jobLimits: { logBytes: number; outputBytes: number; checkpointBytes: number; entries: number; minFreeBytes: number };
  /** A job with no machine after this long (per attempt) ends timed_out. */
  jobProvisionTimeoutMs: number;
  /** undefined = open while no operator exists, invite once one does. */
  registration: "open" | "invite" | "closed" | undefined;
  /** Cap on a user's spending through the server's marketplace account (0 = none allowed). */
  defaultSpendCapUsd: number;
  /** The server's GCP project for standbys (else the embedded market's simulated one). */
  gcpCredentials: string | undefined;
  gcpComputeUrl: string;
  /** GPU health checks: every `intervalMs`, again after `recheckMs` once one failed; `failures` in a row = lost. */
  standbyHealth: { intervalMs: number; recheckMs: number; failures: number };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid environment: ${problems}`);
  }
  const e = parsed.data;
  const home = resolve(e.DUMONT_HOME ?? join(homedir(), ".dumont"));
  return {
    home,
    databaseUrl: e.DATABASE_URL || undefined,
    pgSchema: e.DUMONT_PG_SCHEMA,
    sqliteFile: join(home, "dumont.db"),
    secretKey: e.DUMONT_SECRET_KEY || undefined,
    logLevel: e.DUMONT_LOG_LEVEL,
    leaseMs: e.DUMONT_LEASE_MS,
    pollMs: e.DUMONT_POLL_MS,
    controllerConcurrency: e.DUMONT_CONTROLLER_CONCURRENCY,
    loginMaxFailures: e.DUMONT_LOGIN_MAX_FAILURES,
    loginWindowMs: e.DUMONT_LOGIN_WINDOW_S * 1000,
    loginMaxDelayMs: e.DUMONT_LOGIN_MAX_DELAY_S * 1000,
    ipMaxAttempts: e.DUMONT_IP_MAX_ATTEMPTS,
    sessionTtlMs: e.DUMONT_SESSION_DAYS * 86_400_000,
    bodyLimit: e.DUMONT_BODY_LIMIT,
    replicaId: e.DUMONT_REPLICA_ID,
    drillKillAfterCanaryStep: e.DUMONT_DRILL_KILL_AFTER_CANARY_STEP,
    drillKillAfterMachineCreate: e.DUMONT_DRILL_KILL_AFTER_MACHINE_CREATE === "1",
    drillKillInStandby: e.DUMONT_DRILL_KILL_IN_STANDBY,
    vastApiKey: e.VAST_API_KEY || undefined,
    vastUrl: e.DUMONT_VAST_URL,
    jobLimits: {
      logBytes: e.DUMONT_JOB_LOG_MAX_BYTES,
      outputBytes: e.DUMONT_JOB_OUTPUT_MAX_BYTES,
      checkpointBytes: e.DUMONT_JOB_CHECKPOINT_MAX_BYTES,
      entries: e.DUMONT_JOB_MAX_FILES,
      minFreeBytes: e.DUMONT_MIN_FREE_BYTES,
    },
    jobProvisionTimeoutMs: e.DUMONT_JOB_PROVISION_TIMEOUT_S * 1000,
    market: e.DUMONT_MARKET === "auto" ? (e.VAST_API_KEY ? "vast" : "embedded") : e.DUMONT_MARKET,
    marketProfile: e.DUMONT_MARKET_PROFILE,
    marketSeed: e.DUMONT_MARKET_SEED,
    marketTimeScale: e.DUMONT_MARKET_TIME_SCALE,
    orphanGraceMs: e.DUMONT_ORPHAN_GRACE_S * 1000,
    collectIntervalMs: e.DUMONT_COLLECT_INTERVAL_S * 1000,
    instancePollMs: e.DUMONT_INSTANCE_POLL_MS,
    instanceIdlePollMs: e.DUMONT_INSTANCE_IDLE_POLL_MS,
    jobPollMs: e.DUMONT_JOB_POLL_MS,
    checkpointEveryMs: e.DUMONT_CHECKPOINT_EVERY_S * 1000,
    bootTimeoutMs: e.DUMONT_BOOT_TIMEOUT_S * 1000,
    searchTimeoutMs: e.DUMONT_SEARCH_TIMEOUT_S * 1000,
    ollamaInstallUrl: e.DUMONT_OLLAMA_INSTALL_URL,
    registration: e.DUMONT_REGISTRATION,
    defaultSpendCapUsd: e.DUMONT_DEFAULT_SPEND_CAP_USD,
    gcpCredentials: e.GCP_CREDENTIALS || undefined,
    gcpComputeUrl: e.GCP_COMPUTE_URL,
    standbyHealth: {
      intervalMs: e.DUMONT_STANDBY_HEALTH_S * 1000,
      recheckMs: e.DUMONT_STANDBY_RECHECK_S * 1000,
      failures: e.DUMONT_STANDBY_HEALTH_FAILURES,
    },
  };
}

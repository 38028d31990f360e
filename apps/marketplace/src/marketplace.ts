import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import pino, { type Logger } from "pino";
import { Accounts, generateApiKey } from "./accounts";
import { SimClock } from "./clock";
import { GcpEmulation, type GcpEndpoints } from "./gcp/gcp-emulation";
import { registerGcpRoutes } from "./gcp/gcp-routes";
import { registerGcpSimRoutes } from "./gcp/gcp-sim-routes";
import { buildApp } from "./http/app";
import { FaultScheduler } from "./instances/fault-scheduler";
import { InstanceLogs } from "./instances/instance-logs";
import { InstanceManager } from "./instances/instance-manager";
import { ResultStore } from "./instances/result-store";
import type { MarketContext } from "./market-context";
import type { Machine } from "./market/machine";
import { Market } from "./market/market";
import { FAULT_PROFILES, hostFaults, type HostFaults, type Profile } from "./profiles";
import { Rng } from "./random";
import { assertSandboxRequirements } from "./sandbox/sandbox-requirements";
import { DEFAULT_NETWORK_POOL, SandboxNetwork } from "./sandbox/sandbox-network";

export interface MarketplaceOptions {
  /** Interface to listen on (HTTP and every instance's SSH server). Default 127.0.0.1. */
  host?: string;
  /** 0 = a random free port. */
  port?: number;
  /** Decides the market and every fault draw. Default 1. */
  seed?: number;
  /** How often things go wrong. Default "healthy". */
  profile?: Profile;
  /** Real ms per simulated ms: 1 = real time, 0.01 = 100× faster, 0 = frozen (advance via /sim). */
  timeScale?: number;
  /** The default account's key; generated when absent. */
  apiKey?: string;
  /** Instance workspaces live under `<dataDir>/instances/<id>/`. */
  dataDir: string;
  /** Machines in the market (each lists 1–4 offers). Default 300. */
  machines?: number;
  /** The default account's credit in USD. Default 100. */
  credit?: number;
  /**
   * IPv4 range (prefix /24 or shorter) for the machines' networks: the market takes the first /24
   * of it that no other market and no network of this host uses. Default
   * `DUMONT_MARKET_NETWORK_POOL`, else 10.233.0.0/16.
   */
  networkPool?: string;
  logger?: Logger;
}

export interface RunningMarketplace {
  url: string;
  apiKey: string;
  /** The host's address on this market's machine network (`dumont-host` inside its machines). */
  machineHostAddress: string;
  /**
   * The emulated Google Cloud project (`dumont-sim`): Compute's base URL and the service account
   * key file (also written to `serviceAccountFile`). Its VMs' SSH servers listen on
   * `machineHostAddress`, so the host and every machine reach them.
   */
  gcp: GcpEndpoints;
  /** Stops HTTP, kills every sandbox (GPU instances' and GCP VMs', with their processes), SSH server and machine network. */
  close(): Promise<void>;
}

const SFTP_SERVER_PATHS = [
  "/usr/lib/openssh/sftp-server",
  "/usr/libexec/openssh/sftp-server",
  "/usr/libexec/sftp-server",
  "/usr/lib/ssh/sftp-server",
];
/** Real ms between billing passes (charges are exact regardless; this is how soon credit runs out visibly). */
const BILLING_INTERVAL_MS = 100;

/**
 * Starts the local Vast-compatible marketplace. Throws at once, saying what to install, when this
 * computer cannot sandbox machines (not root, no bubblewrap): there is no weaker fallback.
 */
export async function startMarketplace(options: MarketplaceOptions): Promise<RunningMarketplace> {
  assertSandboxRequirements();
  const host = options.host ?? "127.0.0.1";
  const seed = options.seed ?? 1;
  const profileName = options.profile ?? "healthy";
  const profile = FAULT_PROFILES[profileName];
  const logger = options.logger ?? pino({ level: "silent" });
  const dataDir = resolve(options.dataDir);
  await mkdir(resolve(dataDir, "instances"), { recursive: true });
  const network = await SandboxNetwork.create(
    options.networkPool ?? process.env.DUMONT_MARKET_NETWORK_POOL ?? DEFAULT_NETWORK_POOL,
    logger,
  );

  const clock = new SimClock(options.timeScale ?? 1, Date.now());
  const market = new Market({ seed, machines: options.machines ?? 300, nowS: clock.nowSeconds() });
  const accounts = new Accounts();
  const account = accounts.create({
    apiKey: options.apiKey ?? generateApiKey(),
    credit: options.credit ?? 100,
    email: "renter@market.local",
    nowMs: clock.now(),
  });

  const traits = new Map<number, HostFaults>();
  const hostFaultsOf = (machine: Machine): HostFaults => {
    let found = traits.get(machine.machineId);
    if (!found) {
      found = hostFaults(seed, profile, machine.machineId);
      traits.set(machine.machineId, found);
    }
    return found;
  };
  const manager = new InstanceManager({
    clock,
    market,
    seed,
    host,
    dataDir,
    network,
    sftpServer: SFTP_SERVER_PATHS.find((p) => existsSync(p)),
    bootFailureOf: (machine) => hostFaultsOf(machine).bootFailure,
    logger,
  });
  new FaultScheduler(manager, { clock, seed, profile, hostFaults: hostFaultsOf, logger });
  const logs = new InstanceLogs(manager, clock);

  const ctx: MarketContext = {
    host,
    seed,
    profileName,
    profile,
    clock,
    market,
    accounts,
    manager,
    logs,
    results: new ResultStore(),
    apiFaults: {
      rate429: profile.rate429,
      rate5xx: profile.rate5xx,
      lostCreateReply: profile.lostCreateReply,
      rng: Rng.derive(seed, "api-faults"),
    },
    hostFaults: hostFaultsOf,
    setBootFailure: (machine, probability) => {
      traits.set(machine.machineId, { ...hostFaultsOf(machine), bootFailure: probability });
    },
    logger,
  };

  const gcp = new GcpEmulation({
    clock,
    dataDir,
    network,
    sftpServer: SFTP_SERVER_PATHS.find((p) => existsSync(p)),
    logger,
  });

  const app = await buildApp(ctx);
  registerGcpRoutes(app, gcp);
  registerGcpSimRoutes(app, ctx, gcp);
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (error) {
    await network.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  gcp.setBaseUrl(url);
  const gcpEndpoints = await gcp.publish();
  const billing = setInterval(() => manager.accrueAll(accounts.all()), BILLING_INTERVAL_MS);
  billing.unref();
  logger.info(
    { url, seed, profile: profileName, machines: market.machines.length, offers: market.slots.length },
    "simulated marketplace listening",
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    apiKey: account.apiKey,
    machineHostAddress: network.hostAddress,
    gcp: gcpEndpoints,
    close: () => {
      closing ??= (async () => {
        clearInterval(billing);
        clock.close();
        await app.close();
        await manager.shutdown();
        await gcp.shutdown();
        await network.close();
      })();
      return closing;
    },
  };
}

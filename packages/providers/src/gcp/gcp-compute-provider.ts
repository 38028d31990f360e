import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DumontError } from "@dumont/core";
import type {
  StandbyCapabilities,
  StandbyMachine,
  StandbyMachineRequest,
  StandbyProvider,
} from "../standby/standby-provider";
import { parseGcpServiceAccount } from "./gcp-credentials";
import { GcpHttp } from "./gcp-http";
import { assertInstanceName, assertZone, buildInsertBody, labelFilter, toStandbyMachine } from "./gcp-instances";
import { GcpAggregatedInstances, GcpInstance, GcpOperation } from "./gcp-schemas";
import { GcpTokenSource } from "./gcp-token-source";
import { cleanText, parseReply, type GcpTransportOptions } from "./gcp-transport";

export const GCP_COMPUTE_URL = "https://compute.googleapis.com/compute/v1";

export interface GcpComputeProviderOptions {
  /** A service account's JSON key (see loadGcpCredentials for GCP_CREDENTIALS). */
  credentialsJson: string;
  /** Default: real Compute Engine. The local marketplace's emulation gives its own. */
  computeUrl?: string;
  /** True for the local emulation (shown to users everywhere). */
  simulated: boolean;
  fetch?: typeof fetch;
  /** Pause between operation waits that came back unfinished, and between destroy confirmations. */
  operationPollMs?: number;
  /** Longest an operation may take before we give up on it (default 10 minutes). */
  operationTimeoutMs?: number;
  /** Attempts for 429/5xx/network failures (default 5). */
  maxAttempts?: number;
  /** First retry backoff (default 500 ms). */
  backoffMs?: number;
  /** Per request (default 60 s; operation waits get longer). */
  timeoutMs?: number;
}

// GCP holds an operation wait up to two minutes; give it that and a little more.
const WAIT_TIMEOUT_MS = 150_000;
// Bounds a listing a broken endpoint could make endless (500 per page: 100 000 machines).
const MAX_LIST_PAGES = 200;
// The operation errors that mean the operation's goal already holds (a repeated insert or delete).
const ALREADY_DONE: Record<string, readonly string[]> = {
  insert: ["RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"],
  delete: ["RESOURCE_NOT_FOUND", "NOT_FOUND"],
};

/**
 * Standby machines on Google Compute Engine, through its REST API with a service account (the
 * local marketplace emulates a GCP project over the same API, so this class drives both).
 * Every mutation waits for its zone operation; names are the caller's, so a create or destroy
 * repeated after a crash converges instead of failing.
 */
export class GcpComputeProvider implements StandbyProvider {
  readonly name = "gcp";
  readonly capabilities: StandbyCapabilities;
  /** The project every call goes to: the service account's own. */
  readonly projectId: string;
  private readonly http: GcpHttp;

  constructor(private readonly options: GcpComputeProviderOptions) {
    const account = parseGcpServiceAccount(options.credentialsJson);
    this.projectId = account.project_id;
    const transport: GcpTransportOptions = {
      fetch: options.fetch ?? fetch,
      maxAttempts: options.maxAttempts,
      backoffMs: options.backoffMs,
      timeoutMs: options.timeoutMs,
    };
    this.http = new GcpHttp(options.computeUrl ?? GCP_COMPUTE_URL, new GcpTokenSource(account, transport), transport);
    this.capabilities = { simulated: options.simulated, supportsSpot: true, supportsStop: true };
  }

  async createMachine(request: StandbyMachineRequest): Promise<void> {
    const body = buildInsertBody(request);
    // GCP deduplicates inserts by requestId, so the transport's retries cannot create two machines.
    const reply = await this.http.request({
      method: "POST",
      path: `${this.zonePath(request.zone)}/instances`,
      query: { requestId: randomUUID() },
      body,
      expect: [409],
    });
    if (reply.status === 409) {
      // The name is taken in this zone: a create that already happened (we crashed before recording it).
      if (reply.reason === "alreadyExists") return;
      throw new DumontError({
        code: "PROVIDER_ERROR",
        message: `the standby cloud refused to create ${request.name}: ${reply.message}`,
        details: { provider_status: 409, provider_reason: reply.reason ?? null },
      });
    }
    await this.waitForOperation(request.zone, parseReply(GcpOperation, reply.json, `insert ${request.name}`));
  }

  async getMachine(zone: string, name: string): Promise<StandbyMachine | undefined> {
    const reply = await this.http.request({ method: "GET", path: this.instancePath(zone, name), expect: [404] });
    if (reply.status === 404) return undefined;
    return toStandbyMachine(parseReply(GcpInstance, reply.json, `get ${name}`), zone);
  }

  async listMachines(label: { key: string; value: string }): Promise<StandbyMachine[]> {
    const filter = labelFilter(label.key, label.value);
    const machines: StandbyMachine[] = [];
    const seenTokens = new Set<string>();
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const reply = await this.http.request({
        method: "GET",
        path: `/projects/${encodeURIComponent(this.projectId)}/aggregated/instances`,
        query: { filter, maxResults: "500", pageToken },
      });
      const list = parseReply(GcpAggregatedInstances, reply.json, "the instance listing");
      for (const [scope, group] of Object.entries(list.items)) {
        const zone = scope.startsWith("zones/") ? scope.slice("zones/".length) : "";
        for (const item of group.instances) {
          const parsed = GcpInstance.safeParse(item);
          // Checked again here: a filter the far side ignored must not hand us others' machines.
          if (parsed.success && parsed.data.labels[label.key] === label.value) {
            machines.push(toStandbyMachine(parsed.data, zone));
          }
        }
      }
      if (!list.nextPageToken || seenTokens.has(list.nextPageToken)) return machines;
      seenTokens.add(list.nextPageToken);
      pageToken = list.nextPageToken;
    }
    throw new DumontError({
      code: "PROVIDER_ERROR",
      message: `the standby cloud's instance listing did not end after ${MAX_LIST_PAGES} pages`,
    });
  }

  async setRunning(zone: string, name: string, running: boolean): Promise<void> {
    const verb = running ? "start" : "stop";
    const reply = await this.http.request({
      method: "POST",
      path: `${this.instancePath(zone, name)}/${verb}`,
      expect: [404],
    });
    if (reply.status === 404) {
      throw new DumontError({
        code: "NOT_FOUND",
        message: `standby machine ${name} in ${zone} does not exist`,
        details: { zone, name },
      });
    }
    await this.waitForOperation(zone, parseReply(GcpOperation, reply.json, `${verb} ${name}`));
  }

  async destroyMachine(zone: string, name: string): Promise<void> {
    const reply = await this.http.request({ method: "DELETE", path: this.instancePath(zone, name), expect: [404] });
    if (reply.status === 404) return;
    await this.waitForOperation(zone, parseReply(GcpOperation, reply.json, `delete ${name}`));
    // Done only when the machine is no longer there to bill: confirm, as the orphan collector would.
    const pollMs = this.options.operationPollMs ?? 1000;
    const deadline = Date.now() + Math.max(30_000, pollMs * 10);
    for (;;) {
      if ((await this.getMachine(zone, name)) === undefined) return;
      if (Date.now() >= deadline) break;
      await sleep(pollMs);
    }
    throw new DumontError({
      code: "PROVIDER_ERROR",
      message: `standby machine ${name} in ${zone} still exists after its delete finished`,
      details: { zone, name },
    });
  }

  /** Waits until a zone operation is DONE; a failed one throws PROVIDER_ERROR with GCP's code. */
  private async waitForOperation(zone: string, started: GcpOperation): Promise<void> {
    const pollMs = this.options.operationPollMs ?? 1000;
    const deadline = Date.now() + (this.options.operationTimeoutMs ?? 600_000);
    let operation = started;
    while (operation.status !== "DONE") {
      if (Date.now() >= deadline) {
        throw new DumontError({
          code: "PROVIDER_ERROR",
          message: `the standby cloud's ${operation.operationType ?? "operation"} ${operation.name} is still ${operation.status}; gave up waiting`,
          details: { operation: operation.name },
        });
      }
      const reply = await this.http.request({
        method: "POST",
        path: `${this.zonePath(zone)}/operations/${encodeURIComponent(operation.name)}/wait`,
        timeoutMs: WAIT_TIMEOUT_MS,
      });
      operation = parseReply(GcpOperation, reply.json, `wait for ${operation.name}`);
      // `wait` normally blocks until DONE; one that returns early must not become a busy loop.
      if (operation.status !== "DONE") await sleep(pollMs);
    }
    const errors = operation.error?.errors ?? [];
    if (errors.length === 0) return;
    const tolerated = ALREADY_DONE[operation.operationType ?? started.operationType ?? ""] ?? [];
    if (errors.every((error) => tolerated.includes(error.code))) return;
    const first = errors[0];
    const target = operation.targetLink ? operation.targetLink.slice(operation.targetLink.lastIndexOf("/") + 1) : "";
    throw new DumontError({
      code: "PROVIDER_ERROR",
      message: `the standby cloud's ${operation.operationType ?? "operation"}${target ? ` of ${cleanText(target, 80)}` : ""} failed: ${errors
        .map((error) => `${cleanText(error.code, 80)}: ${cleanText(error.message ?? "")}`)
        .join("; ")}`,
      details: {
        operation: operation.name,
        provider_error: first?.code ?? null,
        provider_errors: errors.map((error) => error.code),
      },
    });
  }

  private zonePath(zone: string): string {
    assertZone(zone);
    return `/projects/${encodeURIComponent(this.projectId)}/zones/${zone}`;
  }

  private instancePath(zone: string, name: string): string {
    assertInstanceName(name);
    return `${this.zonePath(zone)}/instances/${name}`;
  }
}

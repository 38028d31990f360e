import { setTimeout as sleep } from "node:timers/promises";
import { sshExec, type SshEndpoint } from "@dumont/providers";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

/**
 * What the standby benchmarks share: an in-process control plane on the embedded market (GPU
 * sandboxes, and its emulated GCP project for the CPU standbys), one account, and the calls a
 * user makes (rent a GPU, provision a standby, run a command over SSH). Everything goes through
 * the real API and real SSH, as in apps/server/test/standby.test.ts.
 */

export interface Association {
  id: string;
  status: string;
  instance_id: string;
  gpu_instance_id: string;
  simulated: boolean;
  sync_count: number;
  /** When the last good sync started (ISO): writes after it may not be on the standby. */
  last_sync_at: string | null;
  last_sync_error: string | null;
  cpu_ssh_host: string | null;
  cpu_ssh_port: number | null;
  active: { role: "gpu" | "cpu"; ssh_host: string | null; ssh_port: number | null };
  error: string | null;
}

export interface Endpoint {
  role: "gpu" | "cpu";
  ssh_host: string | null;
  ssh_port: number | null;
  serving_instance_id: string | null;
  standby_id: string | null;
}

type Method = "GET" | "POST" | "DELETE" | "PUT";

export class StandbyBenchFixture {
  private constructor(
    readonly server: InProcessServer,
    readonly user: Account,
  ) {}

  static async start(env: Record<string, string>, name: string): Promise<StandbyBenchFixture> {
    const server = await startInProcessServer({ env: { DUMONT_MARKET: "embedded", ...env } });
    return new StandbyBenchFixture(server, await registerAccount(server.app, name));
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  async json<T>(method: Method, url: string, payload?: Record<string, unknown>): Promise<T> {
    const response = await this.server.app.inject({
      method,
      url,
      headers: bearer(this.user.token),
      ...(payload === undefined ? {} : { payload }),
    });
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json<T>();
  }

  association(id: string): Promise<Association> {
    return this.json<Association>("GET", `/api/v1/standby/associations/${id}`);
  }

  waitStatus(id: string, status: string, timeoutMs: number): Promise<Association> {
    return until(
      `standby ${id} ${status}`,
      () => this.association(id),
      (a) => a.status === status,
      { timeoutMs },
    );
  }

  /** The cheapest offer under $3/h, rented and running (market boot time included). */
  async rentGpu(timeoutMs = 15 * 60_000): Promise<string> {
    const offers = await this.json<{ offers: { id: string }[] }>("GET", "/api/v1/instances/offers?max_price=3&limit=1");
    const created = await this.json<{ id: string }>("POST", "/api/v1/instances", {
      offer_id: offers.offers[0]?.id,
      disk_size: 10,
    });
    await until(
      `instance ${created.id} running`,
      () => this.json<{ status: string }>("GET", `/api/v1/instances/${created.id}`),
      (i) => i.status === "running",
      { timeoutMs, everyMs: 500 },
    );
    return created.id;
  }

  /** A standby for the instance with the account's default settings but the sync interval, synced once. */
  async provisionStandby(instanceId: string, syncIntervalS: number): Promise<Association> {
    const created = await this.json<Association>("POST", "/api/v1/standby/associations", {
      instance_id: instanceId,
      sync_interval_s: syncIntervalS,
    });
    return this.waitStatus(created.id, "syncing", 15 * 60_000);
  }

  async endpointOf(instanceId: string): Promise<Endpoint> {
    return this.json<Endpoint>("GET", `/api/v1/instances/${instanceId}/endpoint`);
  }

  async gpuEndpoint(instanceId: string): Promise<SshEndpoint> {
    const endpoint = await this.endpointOf(instanceId);
    if (!endpoint.ssh_host || !endpoint.ssh_port) throw new Error(`no endpoint: ${JSON.stringify(endpoint)}`);
    return { host: endpoint.ssh_host, port: endpoint.ssh_port, user: "root" };
  }

  async controlKey(): Promise<string> {
    return (await this.server.server.context.sshKeys.controlKey(this.user.userId)).privateKey;
  }

  /** One command over SSH as root with the account's control key; stdout, or an error naming the exit. */
  async exec(endpoint: SshEndpoint, command: string, timeoutMs = 120_000): Promise<string> {
    const result = await sshExec({ endpoint, privateKey: await this.controlKey(), command, timeoutMs });
    if (result.exitCode !== 0) throw new Error(`${command.slice(0, 80)} exited ${result.exitCode}: ${result.stderr}`);
    return result.stdout;
  }

  /** POSTs a fault for the instance's machine to the embedded market's /sim API. */
  async injectFault(instanceId: string, kind: string): Promise<void> {
    const market = this.server.server.context.markets.embedded;
    if (!market) throw new Error("no embedded market");
    const row = await this.server.server.context.repos.instances.findById(instanceId);
    if (!row?.machine_id) throw new Error(`instance ${instanceId} has no machine`);
    const response = await fetch(`${market.url}/sim/instances/${row.machine_id}/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${market.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ kind }),
    });
    if (response.status >= 300) throw new Error(`fault ${kind}: ${response.status} ${await response.text()}`);
  }
}

export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  { timeoutMs, everyMs = 100 }: { timeoutMs: number; everyMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(everyMs);
  }
}

import { connect } from "node:net";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import ssh2 from "ssh2";
import { startMarketplace, type MarketplaceOptions, type RunningMarketplace } from "../src/index";

/** A parsed JSON body, whose shape the assertions check. */
export type Json = ReturnType<typeof JSON.parse>;

/** A number field of a JSON body (throws when it is not one). */
export function num(value: Json): number {
  if (typeof value !== "number") throw new Error(`expected a number, got ${JSON.stringify(value)}`);
  return value;
}

/** An array field of a JSON body (throws when it is not one). */
export function rows(value: Json): Json[] {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${JSON.stringify(value)}`);
  return value;
}

/** What a call to the marketplace answered. `body` is parsed JSON when it was JSON, else the text. */
export interface ApiResponse {
  status: number;
  body: Json;
  text: string;
  headers: Headers;
}

export interface TestMarket {
  market: RunningMarketplace;
  dir: string;
  /** Calls the API with the default account key (or `key`, or none when `key` is null). */
  call(method: string, path: string, body?: unknown, key?: string | null): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** A marketplace on a random port over a fresh temp dir; 200× faster than real time by default. */
export async function startTestMarket(options: Partial<MarketplaceOptions> = {}): Promise<TestMarket> {
  const dir = await mkdtemp(join(tmpdir(), "market-test-"));
  const market = await startMarketplace({ dataDir: join(dir, "data"), timeScale: 0.005, ...options });
  const call = async (method: string, path: string, body?: unknown, key?: string | null): Promise<ApiResponse> => {
    const headers: Record<string, string> = {};
    const useKey = key === undefined ? market.apiKey : key;
    if (useKey !== null) headers.authorization = `Bearer ${useKey}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${market.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Plain-text answers (429, gateway errors) stay text.
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  };
  return {
    market,
    dir,
    call,
    close: async () => {
      await market.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface KeyPair {
  publicKey: string;
  privateKeyPath: string;
}

/**
 * An ed25519 key pair; the private key is written with mode 0600 so `ssh -i` accepts it. ssh2's
 * generator writes an unreadable key about once in 300 (a dropped leading zero byte): redraw.
 */
export async function generateKey(dir: string, name = "id_ed25519"): Promise<KeyPair> {
  let pair = ssh2.utils.generateKeyPairSync("ed25519");
  while (ssh2.utils.parseKey(pair.private) instanceof Error || ssh2.utils.parseKey(pair.public) instanceof Error) {
    pair = ssh2.utils.generateKeyPairSync("ed25519");
  }
  const privateKeyPath = join(dir, name);
  await writeFile(privateKeyPath, pair.private, { mode: 0o600 });
  return { publicKey: pair.public, privateKeyPath };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/** Reads one instance (`{"instances": {...}}`). */
export async function getInstance(t: TestMarket, id: number): Promise<Json> {
  const response = await t.call("GET", `/api/v0/instances/${id}/`);
  if (response.status !== 200) throw new Error(`GET instance ${id}: ${response.status} ${response.text}`);
  return response.body.instances;
}

/** Waits until the instance matches `predicate`; returns it. */
export async function waitForInstance(
  t: TestMarket,
  id: number,
  predicate: (instance: Json) => boolean,
  timeoutMs = 20_000,
): Promise<Json> {
  let last: Json = null;
  try {
    return await waitFor(
      `instance ${id}`,
      async () => {
        const instance: Json = await getInstance(t, id);
        last = instance;
        return instance && predicate(instance) ? (instance as object) : undefined;
      },
      { timeoutMs },
    );
  } catch (error) {
    // Say where it got stuck: the state a client would have seen last.
    const seen = last === null ? "gone" : `${last.actual_status} / ${last.cur_state} / ${last.status_msg}`;
    throw new Error(`${error instanceof Error ? error.message : String(error)} (last seen: ${seen})`, { cause: error });
  }
}

/** The first rentable offer matching `query` (cheapest first). */
export async function pickOffer(t: TestMarket, query: Record<string, unknown> = {}): Promise<Json> {
  const response = await t.call("POST", "/api/v0/bundles/", {
    rentable: { eq: true },
    num_gpus: { eq: 1 },
    order: [["dph_total", "asc"]],
    limit: 5,
    ...query,
  });
  const offer = response.body.offers?.[0];
  if (!offer) throw new Error(`no offer for ${JSON.stringify(query)}: ${response.text.slice(0, 300)}`);
  return offer;
}

/** Rents an offer; returns the instance id. */
export async function createInstance(
  t: TestMarket,
  body: Record<string, unknown> = {},
  query: Record<string, unknown> = {},
): Promise<{ id: number; offer: Json }> {
  const offer = await pickOffer(t, query);
  const response = await t.call("PUT", `/api/v0/asks/${offer.id}/`, {
    client_id: "me",
    image: "vastai/base-image",
    disk: 10,
    ...body,
  });
  if (response.status !== 200 || response.body.success !== true) {
    throw new Error(`create on ${offer.id}: ${response.status} ${response.text}`);
  }
  return { id: response.body.new_contract as number, offer };
}

/** Registers the key on the account, rents, waits for running; returns the instance and its SSH endpoint. */
export async function runningInstance(
  t: TestMarket,
  key: KeyPair,
  body: Record<string, unknown> = {},
): Promise<{ id: number; instance: Json; host: string; port: number }> {
  await ensureAccountKey(t, key);
  const { id } = await createInstance(t, body);
  const instance = await waitForInstance(t, id, (i) => i.actual_status === "running");
  return { id, instance, ...sshEndpoint(instance) };
}

const registered = new WeakMap<TestMarket, Set<string>>();

async function ensureAccountKey(t: TestMarket, key: KeyPair): Promise<void> {
  const seen = registered.get(t) ?? new Set<string>();
  registered.set(t, seen);
  if (seen.has(key.publicKey)) return;
  const response = await t.call("POST", "/api/v0/ssh/", { ssh_key: key.publicKey });
  if (response.status !== 200) throw new Error(`add ssh key: ${response.status} ${response.text}`);
  seen.add(key.publicKey);
}

/** The official CLI's rule: the direct port when `ports["22/tcp"]` is mapped, else the proxy host. */
export function sshEndpoint(instance: Json): { host: string; port: number } {
  const direct = instance.ports?.["22/tcp"]?.[0]?.HostPort;
  if (direct) return { host: String(instance.public_ipaddr).trim(), port: Number(direct) };
  return { host: String(instance.ssh_host), port: Number(instance.ssh_port) };
}

export function sshOptions(port: number, key: KeyPair): string[] {
  return [
    "-p",
    String(port),
    "-i",
    key.privateKeyPath,
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "ConnectTimeout=10",
  ];
}

/** The `-e` value for rsync. */
export function rsyncShell(port: number, key: KeyPair): string {
  return ["ssh", ...sshOptions(port, key)].join(" ");
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion without blocking the event loop (the marketplace lives in this process). */
export async function run(
  program: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Runs `command` on the instance with the system's ssh. */
export async function ssh(
  endpoint: { host: string; port: number },
  key: KeyPair,
  command: string,
  input?: string,
): Promise<RunResult> {
  return run("ssh", [...sshOptions(endpoint.port, key), `root@${endpoint.host}`, command], { input });
}

/** Host pids whose command line is exactly `argv` (reads /proc). */
export async function hostPidsOf(argv: readonly string[]): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const wanted = `${argv.join("\0")}\0`;
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/cmdline`, "utf8")) === wanted) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** The first line a TCP server says (an SSH banner, a test server's greeting), or undefined if none within 2 s. */
export async function readGreeting(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let text = "";
    const done = () => {
      socket.destroy();
      resolve(text || undefined);
    };
    socket.setTimeout(2_000, done);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) done();
    });
    socket.on("error", done);
    socket.on("end", done);
  });
}

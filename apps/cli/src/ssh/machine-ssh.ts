import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { constants, userInfo } from "node:os";
import { dirname, join, posix } from "node:path";
import type { DumontClient } from "@dumont/api-client";
import type { ApiRoutes, RouteResponse } from "@dumont/core";
import { CliError } from "../cli-runtime";
import { configPath } from "../config-store";
import { privateKeyFor } from "./local-keys";

export interface MachineEndpoint {
  /** The instance asked about (its workspace may be served by another machine). */
  instanceId: string;
  host: string;
  port: number;
  /** Which machine serves the workspace: the GPU, or the CPU standby after a failover. */
  role: "gpu" | "cpu";
  /** The name this machine's host key is filed under (see `hostKeyAlias`). */
  hostKeyAlias: string;
  /** Which machine this is, when it is not the instance's own GPU (told on stderr before connecting). */
  landing?: string;
}

/**
 * Where the instance's workspace answers SSH now, looked up on every call: a resumed machine gets
 * a new port, a failover moves the workspace to the CPU standby, a recovery to a new GPU. A
 * server without the endpoint route (404) is asked for the instance's own host and port.
 */
export async function currentEndpoint(client: DumontClient, id: string): Promise<MachineEndpoint> {
  let endpoint: RouteResponse<ApiRoutes["getInstanceEndpoint"]>;
  try {
    endpoint = await client.call("getInstanceEndpoint", { params: { id } });
  } catch (error) {
    if ((error as { status?: number }).status === 404) return instanceEndpoint(client, id);
    throw error;
  }
  if (endpoint.role === "cpu") {
    if (!endpoint.ssh_host || !endpoint.ssh_port) {
      throw new CliError(
        `the CPU standby of ${id} serves its workspace but has no SSH address yet`,
        `Follow it with \`dumont standby get ${id}\`.`,
      );
    }
    const standbyId = endpoint.standby_id ?? "cpu";
    const vmName = await standbyVmName(client, endpoint.standby_id);
    const simulated = endpoint.simulated ? ", SIMULATED" : "";
    return {
      instanceId: id,
      host: endpoint.ssh_host,
      port: endpoint.ssh_port,
      role: "cpu",
      hostKeyAlias: hostKeyAlias(id, standbyId),
      landing: `CPU standby ${vmName ?? standbyId} of ${id} (serving its workspace since ${endpoint.since}${simulated})`,
    };
  }
  const serving = endpoint.serving_instance_id ?? id;
  // No address: the GPU is booting, paused or gone; its own record says which, and what to do.
  if (!endpoint.ssh_host || !endpoint.ssh_port) return instanceEndpoint(client, serving);
  return {
    instanceId: id,
    host: endpoint.ssh_host,
    port: endpoint.ssh_port,
    role: "gpu",
    hostKeyAlias: hostKeyAlias(serving),
    ...(serving === id ? {} : { landing: `GPU ${serving}, which serves ${id} since its recovery` }),
  };
}

/** The instance's own GPU machine, or why it cannot be reached. */
async function instanceEndpoint(client: DumontClient, id: string): Promise<MachineEndpoint> {
  const found = await client.call("getInstance", { params: { id } });
  if (found.status !== "running" || !found.ssh_host || !found.ssh_port) {
    throw new CliError(
      `instance ${id} is ${found.status}, not running`,
      found.status === "paused"
        ? `Resume it with \`dumont instance resume ${id}\` (its port changes; this command follows it).`
        : "Wait until it runs (`dumont instance get " + id + "`).",
    );
  }
  return {
    instanceId: found.id,
    host: found.ssh_host,
    port: found.ssh_port,
    role: "gpu",
    hostKeyAlias: hostKeyAlias(found.id),
  };
}

/** The standby machine's name for the message; a failed look-up only makes the message vaguer. */
async function standbyVmName(client: DumontClient, standbyId: string | null): Promise<string | undefined> {
  if (!standbyId) return undefined;
  try {
    return (await client.call("getStandbyAssociation", { params: { id: standbyId } })).vm_name;
  } catch {
    return undefined;
  }
}

/** Tells (on stderr, so a command's output stays clean) which machine a connection lands on. */
export function announceLanding(endpoint: MachineEndpoint): void {
  if (endpoint.landing) process.stderr.write(`dumont: connecting to the ${endpoint.landing}\n`);
}

/** `-i` for the user's key: the one given, else the private half of an account key found in ~/.ssh. */
export async function identityFor(client: DumontClient, given: string | undefined): Promise<string | undefined> {
  if (given) return given;
  const { ssh_keys: keys } = await client.call("listSshKeys", {});
  return privateKeyFor(keys);
}

/**
 * Options for every ssh, scp and rsync to a machine. Host keys go to the dumont config
 * directory, never ~/.ssh, and are filed under the instance (HostKeyAlias) rather than
 * host:port, because ports change on resume and are reused by other machines.
 */
export function sshOptions(endpoint: MachineEndpoint, identity: string | undefined): string[] {
  const dir = dirname(configPath());
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const options: string[] = [];
  // ssh creates ~/.ssh when it reads no -F file; without a ~/.ssh there is no user config to lose.
  if (!existsSync(join(userInfo().homedir, ".ssh"))) {
    options.push("-F", existsSync("/etc/ssh/ssh_config") ? "/etc/ssh/ssh_config" : "/dev/null");
  }
  options.push(
    "-o",
    `UserKnownHostsFile=${join(dir, "known_hosts")}`,
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    `HostKeyAlias=${endpoint.hostKeyAlias}`,
  );
  if (identity) options.push("-i", identity);
  return options;
}

/**
 * The name a machine's host key is filed under: the GPU instance's id, or, for a CPU standby, the
 * instance and the standby together, so the CPU's key never clashes with the GPU's (and a new
 * standby for the same instance is a new machine, not a changed key). ssh lowercases aliases and
 * ids are case-sensitive, so a short hash of the exact ids keeps two that differ only in case apart.
 */
export function hostKeyAlias(instanceId: string, standbyId?: string): string {
  const exact = standbyId === undefined ? instanceId : `${instanceId}\0cpu\0${standbyId}`;
  const digest = createHash("sha256").update(exact).digest("hex").slice(0, 8);
  const name = standbyId === undefined ? instanceId : `${instanceId}-cpu-${standbyId}`;
  return `dumont-${name.toLowerCase()}-${digest}`;
}

/**
 * `:path` is on the machine (relative paths under /workspace); anything else is local. Answers
 * the remote path, or undefined for a local one.
 */
export function remotePath(spec: string): string | undefined {
  if (!spec.startsWith(":")) return undefined;
  const path = spec.slice(1);
  if (path.startsWith("/")) return path;
  return path === "" || path === "." ? "/workspace" : posix.join("/workspace", path);
}

/** Source and destination for scp/rsync: exactly one side on the machine. */
export function copyEnds(endpoint: MachineEndpoint, source: string, destination: string): [string, string] {
  const from = remotePath(source);
  const to = remotePath(destination);
  if ((from === undefined) === (to === undefined)) {
    throw new CliError(
      "exactly one of source and destination must be on the machine",
      "Write the machine's side as :path (relative paths are under /workspace), e.g. `./data :data` or `:out/model.bin .`; a local file whose name starts with : is ./:name.",
      "USAGE",
    );
  }
  const remote = (path: string) => `root@${endpoint.host}:${path}`;
  return [from === undefined ? source : remote(from), to === undefined ? destination : remote(to)];
}

const PACKAGES: Record<string, string> = { ssh: "openssh-client", scp: "openssh-client", rsync: "rsync" };

/** Runs the system's ssh, scp or rsync on this terminal and answers its exit code. */
export function runSystemTool(tool: "ssh" | "scp" | "rsync", args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: "inherit" });
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new CliError(`${tool} is not installed`, `Install it: apt-get install ${PACKAGES[tool] ?? tool}`)
          : error,
      );
    });
    child.on("close", (code, signal) => {
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 255));
    });
  });
}

/** rsync's `-e` is one string that rsync splits on spaces; quotes keep an argument whole. */
export function rsyncShell(options: string[]): string {
  const quote = (arg: string) => {
    if (/^[\w/.=:@%+,-]+$/.test(arg)) return arg;
    if (!arg.includes('"')) return `"${arg}"`;
    if (!arg.includes("'")) return `'${arg}'`;
    throw new CliError(`cannot pass ${arg} to rsync's ssh`, "Use a path without both kinds of quotes.");
  };
  return ["ssh", ...options].map(quote).join(" ");
}

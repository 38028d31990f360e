import { spawn, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import type { Logger } from "pino";

/**
 * Every machine's own network. A market owns one bridge on the host (`dumont-sim<k>`, with the
 * first address of its /24); each running sandbox gets a network namespace created here, on the
 * host, and one veth pair: `eth0` inside with its own address and a default route via the bridge,
 * the other end on the bridge. So, from inside a machine:
 *
 * - `127.0.0.1` is the machine's own loopback: the host's loopback services (PostgreSQL, the
 *   control plane's API, the market's API and SSH servers, Redis, …) do not exist there;
 * - other machines cannot be reached: every port of the bridge is isolated (`bridge_slave
 *   isolated on`: isolated ports talk to the host only) and the host does not forward what
 *   arrives on the bridge (its IPv4 forwarding is off; IPv6 is off on the bridge);
 * - the host's services bound to 0.0.0.0 (or to the bridge address) answer at `dumont-host`, the
 *   name `/etc/hosts` gives the bridge address. That is the simulated "internet".
 *
 * The namespace belongs to the host's user namespace, not the sandbox's, so even the sandbox's
 * root (no capability anyway) cannot reconfigure it. Everything is done with iproute2's `ip`.
 */

/** The host's name, as a machine resolves it, for services on the host that machines may use. */
export const MACHINE_HOST_NAME = "dumont-host";

/**
 * How a machine reaches a service on the host: `http://${machineReachableHost()}:<port>/`, for a
 * server listening on `MACHINE_REACHABLE_LISTEN_HOST` (or on a market's bridge address). A server
 * on 127.0.0.1 is out of every machine's reach, on purpose.
 */
export function machineReachableHost(): string {
  return MACHINE_HOST_NAME;
}

/** Where a host server listens so that machines can reach it (every market's bridge included). */
export const MACHINE_REACHABLE_LISTEN_HOST = "0.0.0.0";

/** The default pool: each market takes the first free /24 of it. */
export const DEFAULT_NETWORK_POOL = "10.233.0.0/16";

const BRIDGE_PREFIX = "dumont-sim";
const OWNER_ALIAS = "dumont-sim market owner=";
const NETNS_DIR = "/run/netns";
/** A /24 per market: the bridge is .1, machines .2–.254. */
const FIRST_SLOT = 2;
const LAST_SLOT = 254;

export const NETWORK_HINT =
  "The local marketplace gives each machine its own network namespace, a veth pair and a bridge, made with iproute2's `ip` as root with CAP_NET_ADMIN: install iproute2 (tools/system-deps.sh) and run the market where root may create network devices (a container needs --cap-add NET_ADMIN).";

/** Why a machine's network could not be made; its message becomes the instance's `status_msg`. */
export class NetworkError extends Error {
  override readonly name = "NetworkError";
}

interface Ipv4Net {
  base: number;
  prefix: number;
}

/** Live networks of this process, taken down when it exits (a SIGKILL is cleaned at the next start). */
const liveNetworks = new Set<SandboxNetwork>();
let exitHookInstalled = false;

/** A market's bridge, and the machines attached to it. */
export class SandboxNetwork {
  private readonly attached = new Map<number, MachineNetwork>();
  private closed = false;

  private constructor(
    /** `k`: the market's index (its bridge is `dumont-sim<k>`, its /24 the k-th of the pool). */
    readonly index: number,
    private readonly subnet: number,
    private readonly logger: Logger,
  ) {}

  get bridge(): string {
    return `${BRIDGE_PREFIX}${this.index}`;
  }

  /** The bridge's address: what `dumont-host` resolves to inside this market's machines. */
  get hostAddress(): string {
    return formatIp(this.subnet + 1);
  }

  /**
   * Removes what dead markets left (a SIGKILLed market's bridge, veths and namespaces), then
   * claims the first /24 of `pool` that no other market and no address on this host uses.
   */
  static async create(pool: string, logger: Logger): Promise<SandboxNetwork> {
    const net = parseCidr(pool);
    if (net.prefix > 24) throw new RangeError(`network pool ${pool}: needs a prefix of /24 or shorter`);
    await removeStaleNetworks(logger);
    const links = await listLinks();
    const used = await hostNetworks();
    const names = new Set(links.map((l) => l.ifname));
    const markets = 2 ** (24 - net.prefix);
    for (let index = 0; index < markets; index++) {
      const bridge = `${BRIDGE_PREFIX}${index}`;
      const subnet = net.base + index * 256;
      if (names.has(bridge) || used.some((u) => overlaps(u, { base: subnet, prefix: 24 }))) continue;
      const result = await ip(
        [],
        [
          `link add name ${bridge} type bridge`,
          `link set dev ${bridge} alias "${OWNER_ALIAS}${ownerTag(process.pid) ?? "unknown"}"`,
          `addr add ${formatIp(subnet + 1)}/24 dev ${bridge}`,
          `link set dev ${bridge} up`,
        ],
      );
      if (result.code !== 0) {
        // Another market took this name a moment ago (the first command failed): try the next one.
        if (/File exists/i.test(result.stderr) && /Command failed -:1\b/.test(result.stderr)) continue;
        await ip(["-force"], [`link del dev ${bridge}`]);
        throw new NetworkError(
          `sandbox network: cannot create the bridge ${bridge}: ${result.stderr.trim()}. ${NETWORK_HINT}`,
        );
      }
      const network = new SandboxNetwork(index, subnet, logger);
      network.closeRouting();
      installExitHook();
      liveNetworks.add(network);
      logger.debug({ bridge, hostAddress: network.hostAddress }, "sandbox network ready");
      return network;
    }
    throw new NetworkError(
      `sandbox network: every /24 of the pool ${pool} is taken (by other markets or this host's own networks); choose another pool (networkPool, --network-pool, DUMONT_MARKET_NETWORK_POOL)`,
    );
  }

  /**
   * Creates one machine's namespace, veth pair, address and route. `name` only labels logs.
   * The namespace is at `netnsPath`; bwrap is started inside it.
   */
  async attach(name: string): Promise<MachineNetwork> {
    if (this.closed) throw new NetworkError("sandbox network: the market is closing");
    let slot = FIRST_SLOT;
    while (this.attached.has(slot)) slot++;
    if (slot > LAST_SLOT)
      throw new NetworkError(
        `sandbox network: ${LAST_SLOT - FIRST_SLOT + 1} machines already run on this market's network`,
      );
    const machine = new MachineNetwork(this, slot);
    this.attached.set(slot, machine);
    // Re-asserted at every attach: turning on the host's global forwarding resets every device's.
    this.closeRouting();
    const host = await ip(
      [],
      [
        `netns add ${machine.netns}`,
        `link add ${machine.hostVeth} type veth peer name eth0 netns ${machine.netns}`,
        `link set dev ${machine.hostVeth} master ${this.bridge}`,
        `link set dev ${machine.hostVeth} type bridge_slave isolated on`,
        `link set dev ${machine.hostVeth} up`,
      ],
    );
    const inside =
      host.code === 0
        ? await ip(
            ["-n", machine.netns],
            [
              "link set dev lo up",
              `addr add ${machine.address}/24 dev eth0`,
              "link set dev eth0 up",
              // No default route: the bridge's /24 is all a machine can reach (dumont-host and the
              // forwarded ports live there); every other address fails at once, forwarding or not.
            ],
          )
        : host;
    if (inside.code !== 0) {
      await machine.release();
      throw new NetworkError(
        `sandbox network: cannot give ${name} its network: ${inside.stderr.trim().slice(0, 300)}. ${NETWORK_HINT}`,
      );
    }
    return machine;
  }

  /** Takes every machine's network and the bridge down. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.attached.values()].map((m) => m.release()));
    await ip(["-force"], [`link del dev ${this.bridge}`]);
    liveNetworks.delete(this);
  }

  /** @internal */
  forget(machine: MachineNetwork, removed: boolean): void {
    if (removed) this.attached.delete(machine.slot);
    else this.logger.warn({ netns: machine.netns }, "sandbox network: a machine's namespace could not be removed");
  }

  /** @internal The commands that remove everything, for the synchronous exit hook. */
  removalCommands(): string[] {
    return [...[...this.attached.values()].flatMap((m) => m.removalCommands()), `link del dev ${this.bridge}`];
  }

  /** Nothing arriving on the bridge is routed on (IPv4), and it speaks no IPv6. */
  private closeRouting(): void {
    writeSysctl(`/proc/sys/net/ipv4/conf/${this.bridge}/forwarding`, "0");
    writeSysctl(`/proc/sys/net/ipv6/conf/${this.bridge}/disable_ipv6`, "1");
  }
}

/** One machine's network namespace and veth pair. */
export class MachineNetwork {
  private released: Promise<void> | undefined;

  /** @internal */
  constructor(
    private readonly network: SandboxNetwork,
    readonly slot: number,
  ) {}

  /** The namespace's name (`ip netns`), e.g. `dumont-sim3-5`. */
  get netns(): string {
    return `${this.network.bridge}-${this.slot}`;
  }

  get netnsPath(): string {
    return `${NETNS_DIR}/${this.netns}`;
  }

  /** The host end of the veth pair, on the bridge (15 characters at most, as Linux wants). */
  get hostVeth(): string {
    return `dsim${this.network.index}v${this.slot}`;
  }

  /** The machine's own address (on its `eth0`): where the host reaches services inside it. */
  get address(): string {
    return formatIp(parseIp(this.network.hostAddress) - 1 + this.slot);
  }

  /** The bridge's address (`dumont-host` inside). */
  get hostAddress(): string {
    return this.network.hostAddress;
  }

  /** The machine's `/etc/hosts`: its own names, and `dumont-host` for the host. */
  hostsFile(hostname: string): string {
    return [
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      `${this.address}\t${hostname}`,
      `${this.hostAddress}\t${MACHINE_HOST_NAME}`,
      "",
    ].join("\n");
  }

  /**
   * The machine's resolver settings. The host's DNS servers are out of its reach (nothing is
   * routed on from the bridge), so a lookup there would wait for timeouts: the machine asks its
   * own loopback instead, where nothing answers, and an unknown name fails at once.
   */
  resolvConf(): string {
    return [
      "# The simulated marketplace's machines reach only the host's non-loopback services;",
      `# names come from /etc/hosts (${MACHINE_HOST_NAME} is the host).`,
      "nameserver 127.0.0.1",
      "options timeout:1 attempts:1",
      "",
    ].join("\n");
  }

  /** Deletes the veth pair and the namespace (once the sandbox is dead). Idempotent. */
  release(): Promise<void> {
    this.released ??= (async () => {
      const result = await ip(["-force"], this.removalCommands());
      // A failed batch may only mean the veth went with its namespace already: check what is left.
      const gone =
        result.code === 0 ||
        (!(await listLinks()).some((l) => l.ifname === this.hostVeth) && !netnsNames().includes(this.netns));
      this.network.forget(this, gone);
    })();
    return this.released;
  }

  /** @internal */
  removalCommands(): string[] {
    return [`link del dev ${this.hostVeth}`, `netns del ${this.netns}`];
  }
}

// ---- stale networks of dead markets -------------------------------------------------------------

/**
 * A market SIGKILLed (or crashed) leaves its bridge, veths and namespaces behind. Its bridge's
 * alias names its owner (pid and start time, so a reused pid does not pass for it): when that
 * process is gone, everything of that bridge is removed. A bridge without our alias is left alone.
 */
async function removeStaleNetworks(logger: Logger): Promise<void> {
  const links = await listLinks();
  for (const link of links) {
    const index = bridgeIndex(link.ifname);
    if (index === undefined || !isStale(link)) continue;
    // Checked again right before removing: another market may have cleaned and reclaimed it.
    const again = (await listLinks()).find((l) => l.ifname === link.ifname);
    if (!again || !isStale(again)) continue;
    const veth = new RegExp(`^dsim${index}v\\d+$`);
    const commands = [
      ...links.filter((l) => veth.test(l.ifname)).map((l) => `link del dev ${l.ifname}`),
      ...netnsNames()
        .filter((n) => n.startsWith(`${link.ifname}-`))
        .map((n) => `netns del ${n}`),
      `link del dev ${link.ifname}`,
    ];
    await ip(["-force"], commands);
    logger.info({ bridge: link.ifname, owner: link.ifalias }, "removed the network of a market that is gone");
  }
}

function bridgeIndex(name: string): number | undefined {
  const match = new RegExp(`^${BRIDGE_PREFIX}(\\d+)$`).exec(name);
  return match ? Number(match[1]) : undefined;
}

function isStale(link: Link): boolean {
  const alias = link.ifalias ?? "";
  if (!alias.startsWith(OWNER_ALIAS)) return false;
  const [pid, start] = alias.slice(OWNER_ALIAS.length).split(":");
  const owner = Number(pid);
  if (!Number.isInteger(owner) || owner <= 0) return false;
  const now = ownerTag(owner);
  return now === undefined || now !== `${pid}:${start}`;
}

/** `<pid>:<start time in clock ticks>`, or undefined when no such process exists. */
function ownerTag(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return `${pid}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

// ---- iproute2 ---------------------------------------------------------------------------------

interface Link {
  ifname: string;
  ifalias?: string;
}

function netnsNames(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** Runs `ip <options> -batch -` with one command a line (one process for many changes). */
async function ip(options: string[], commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("ip", [...options, "-batch", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) => resolve({ code: 127, stdout, stderr: `ip: ${error.message}` }));
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(`${commands.join("\n")}\n`);
  });
}

async function listLinks(): Promise<Link[]> {
  const result = await ip(["-j"], ["link show"]);
  if (result.code !== 0) return [];
  try {
    return (JSON.parse(result.stdout) as Link[]).filter((l) => typeof l.ifname === "string");
  } catch {
    return [];
  }
}

/** Every IPv4 network this host has an address or a route in (so a market's /24 clashes with none). */
async function hostNetworks(): Promise<Ipv4Net[]> {
  const out: Ipv4Net[] = [];
  const addrs = await ip(["-j", "-4"], ["addr show"]);
  try {
    for (const link of JSON.parse(addrs.stdout) as { addr_info?: { local?: string; prefixlen?: number }[] }[]) {
      for (const a of link.addr_info ?? []) {
        if (a.local && typeof a.prefixlen === "number") out.push(network(parseIp(a.local), a.prefixlen));
      }
    }
  } catch {
    // No addresses to avoid.
  }
  const routes = await ip(["-j", "-4"], ["route show table all"]);
  try {
    for (const route of JSON.parse(routes.stdout) as { dst?: string }[]) {
      if (!route.dst || route.dst === "default") continue;
      const [address, prefix] = route.dst.split("/");
      if (address && /^\d+\.\d+\.\d+\.\d+$/.test(address)) out.push(network(parseIp(address), Number(prefix ?? 32)));
    }
  } catch {
    // No routes to avoid.
  }
  // The host's own loopback range is not a clash for a private pool.
  return out.filter((n) => n.base >>> 24 !== 127);
}

function writeSysctl(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // IPv6 may be absent from this kernel; IPv4 forwarding is off by default anyway.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    const commands = [...liveNetworks].flatMap((n) => n.removalCommands());
    if (commands.length > 0) spawnSync("ip", ["-force", "-batch", "-"], { input: `${commands.join("\n")}\n` });
  });
}

// ---- IPv4 arithmetic --------------------------------------------------------------------------

function parseIp(text: string): number {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new RangeError(`not an IPv4 address: ${text}`);
  return parts.reduce((value, part) => value * 256 + part, 0);
}

function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function network(address: number, prefix: number): Ipv4Net {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (address & mask) >>> 0, prefix };
}

export function parseCidr(text: string): Ipv4Net {
  const [address, prefix] = text.split("/");
  const bits = Number(prefix);
  if (!address || !Number.isInteger(bits) || bits < 8 || bits > 32)
    throw new RangeError(`not an IPv4 network (a.b.c.d/n): ${text}`);
  return network(parseIp(address), bits);
}

function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return network(a.base, prefix).base === network(b.base, prefix).base;
}

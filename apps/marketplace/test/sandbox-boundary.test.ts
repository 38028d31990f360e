import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type AddressInfo, type Server } from "node:net";
import { MACHINE_HOST_NAME, MACHINE_REACHABLE_LISTEN_HOST, startMarketplace } from "../src/index";
import { MAX_PROCESSES_PER_MACHINE } from "../src/sandbox/bubblewrap-argv";
import {
  generateKey,
  hostPidsOf,
  readGreeting,
  run,
  runningInstance,
  ssh,
  sshOptions,
  sshEndpoint,
  startTestMarket,
  waitFor,
  waitForInstance,
  type KeyPair,
  type TestMarket,
} from "./helpers";

// A user's job runs as "root" in the machine it rents. On the local marketplace that machine is
// on the same computer as the control plane, so these are the attacks of issue 8, finding 4, run
// from inside a rented machine over real SSH: each must fail or find nothing.
describe("the sandbox is a boundary", () => {
  let t: TestMarket;
  let key: KeyPair;
  let mine: { id: number; host: string; port: number };
  let other: { id: number; host: string; port: number };
  const token = randomBytes(8).toString("hex");
  /** Stand-ins for what the control plane keeps on this computer (DUMONT_HOME and the host's homes). */
  let planted: { secret: string; inData: string; inRoot: string; inHome: string };

  beforeAll(async () => {
    t = await startTestMarket({ seed: 41 });
    key = await generateKey(t.dir);
    planted = {
      secret: join(t.dir, "secret.key"),
      inData: join(t.dir, "data", "market.db"),
      inRoot: join("/root", `dumont-boundary-${token}`),
      inHome: join("/home", `dumont-boundary-${token}`),
    };
    await mkdir("/home", { recursive: true });
    for (const path of Object.values(planted)) await writeFile(path, `planted-${token}\n`, { mode: 0o644 });
    const first = await runningInstance(t, key, { label: "mine", onstart: "echo booted >> /workspace/boots" });
    const second = await runningInstance(t, key, { label: "other" });
    mine = { id: first.id, host: first.host, port: first.port };
    other = { id: second.id, host: second.host, port: second.port };
  });
  /** Each running instance's own address, as /sim/state publishes it. */
  async function sandboxAddresses(): Promise<Map<number, string>> {
    const state = await t.call("GET", "/sim/state");
    return new Map(
      (state.body.instances as { id: number; sandbox_address: string | null }[]).map((i) => [
        i.id,
        i.sandbox_address ?? "",
      ]),
    );
  }
  afterAll(async () => {
    await t.close();
    await rm(planted.inRoot, { force: true });
    await rm(planted.inHome, { force: true });
  });

  it("has its own root file system: no DUMONT_HOME, no market data, no host /root, /home or checkout", async () => {
    const root = await ssh(mine, key, "ls -a /");
    expect(root.stdout.trim().split("\n").sort()).toEqual(
      expect.arrayContaining([".", "..", "dev", "etc", "proc", "root", "tmp", "usr", "workspace"]),
    );
    for (const absent of ["home", "work", "mnt", "opt", "var", "sys", "srv", "media", "old_root"]) {
      expect(root.stdout.split("\n")).not.toContain(absent);
    }
    const paths = [...Object.values(planted), t.dir, join(process.cwd(), "package.json"), "/home"];
    for (const path of paths) {
      const probe = await ssh(mine, key, `cat '${path}' 2>&1 || ls -d '${path}' 2>&1; echo rc=$?`);
      expect(probe.stdout, path).not.toContain(`planted-${token}`);
      expect(probe.stdout, path).toMatch(/No such file or directory/);
    }
    // Nothing the sandbox can read anywhere holds the planted secret (the system directories are
    // the host's own read-only files; everything else visible is searched).
    const search = await ssh(
      mine,
      key,
      `grep -rls -- 'planted-${token}' /workspace /root /tmp /dev 2>/dev/null; echo done`,
    );
    expect(search.stdout).toBe("done\n");
    // /root inside is the instance's home, on its disk.
    await ssh(mine, key, "echo home > /root/in-home");
    expect(await readFile(join(t.dir, "data", "instances", String(mine.id), "home", "in-home"), "utf8")).toBe("home\n");
  });

  it("cannot see another instance's disk, processes or /tmp", async () => {
    await ssh(other, key, `echo theirs-${token} > /workspace/theirs; echo tmp > /tmp/theirs-tmp`);
    await ssh(other, key, "nohup sleep 987700 >/dev/null 2>&1 &");
    expect(await hostPidsOf(["sleep", "987700"])).toHaveLength(1);
    const otherDisk = join(t.dir, "data", "instances", String(other.id), "workspace");
    const look = await ssh(
      mine,
      key,
      `ls /workspace; ls /tmp; cat '${otherDisk}/theirs' 2>&1; ps -e -o pid=,args=; ls /proc | grep -c '^[0-9]'`,
    );
    expect(look.stdout).not.toContain(`theirs-${token}`);
    expect(look.stdout.split("\n")).not.toContain("theirs");
    expect(look.stdout.split("\n")).not.toContain("theirs-tmp");
    expect(look.stdout).not.toContain("987700");
    expect(look.stdout).toContain("No such file or directory");
    const ps = await ssh(mine, key, "ps -e -o pid=,comm=");
    const pids = ps.stdout
      .trim()
      .split("\n")
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    // Only its own: the init (PID 1), the shell running this and `ps`.
    expect(pids[0]).toBe(1);
    expect(pids.length).toBeLessThan(6);
    // Its signals cannot reach the other machine's processes either (they are not in its PID namespace).
    const [theirPid] = await hostPidsOf(["sleep", "987700"]);
    const kill = await ssh(mine, key, `kill -9 ${theirPid}; echo rc=$?`);
    expect(kill.stdout).toMatch(/rc=1/);
    expect(await hostPidsOf(["sleep", "987700"])).toHaveLength(1);
  });

  it("cannot unmount or mount its way out", async () => {
    await ssh(mine, key, "echo still-home > /root/marker");
    const tricks = [
      "umount -l /root",
      "umount -l /workspace",
      "umount -l /",
      "mount --bind / /tmp",
      "mount -t tmpfs none /tmp",
      "mount -t proc proc /tmp",
      "unshare -rm true",
      "unshare -U true",
      "nsenter -t 1 -m true",
      "chroot / true",
      "echo 1 > /proc/sys/kernel/sysrq",
    ];
    for (const trick of tricks) {
      const result = await ssh(mine, key, `${trick} 2>&1; echo rc=$?`);
      expect(result.stdout, trick).not.toMatch(/rc=0\n$/);
    }
    // And afterwards /root is still the instance's home, never the host's.
    const after = await ssh(mine, key, "cat /root/marker; ls -a /root");
    expect(after.stdout).toContain("still-home");
    expect(after.stdout).not.toContain(`dumont-boundary-${token}`);
  });

  it("cannot write to the system directories", async () => {
    for (const path of ["/usr/dumont-x", "/usr/bin/dumont-x", "/etc/dumont-x", "/bin/dumont-x", "/lib/dumont-x"]) {
      const result = await ssh(mine, key, `{ echo x > ${path}; } 2>&1; echo rc=$?`);
      expect(result.stdout, path).toMatch(/Read-only file system[\s\S]*rc=1\n$/);
    }
    await expect(stat("/usr/dumont-x")).rejects.toThrow();
    await expect(stat("/etc/dumont-x")).rejects.toThrow();
    // Secrets in /etc belong to the host's root, who does not exist inside.
    const shadow = await ssh(mine, key, "cat /etc/shadow 2>&1; echo rc=$?");
    expect(shadow.stdout).toMatch(/Permission denied[\s\S]*rc=1\n$/);
  });

  it("holds no capability, and is not root on the host", async () => {
    const caps = await ssh(mine, key, "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status /proc/1/status; id -u");
    const lines = caps.stdout.trim().split("\n");
    expect(lines.at(-1)).toBe("0"); // root inside, so jobs that expect root still work ...
    const capLines = lines.slice(0, -1);
    expect(capLines).toHaveLength(10);
    for (const line of capLines) expect(line).toMatch(/:\s*0000000000000000$/); // ... with no power at all
    // Seen from the host, the machine's processes and files belong to an unprivileged uid.
    await ssh(mine, key, "echo f > /workspace/owned; nohup sleep 987701 >/dev/null 2>&1 &");
    const [pid] = await hostPidsOf(["sleep", "987701"]);
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const hostUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    expect(hostUid).toBeGreaterThanOrEqual(1_000_000_000);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    const owned = await stat(join(t.dir, "data", "instances", String(mine.id), "workspace", "owned"));
    expect(owned.uid).toBe(hostUid);
    // It cannot give a file away to anyone (no CAP_CHOWN, and no other uid exists inside).
    const chown = await ssh(mine, key, "chown 1234 /workspace/owned 2>&1; echo rc=$?");
    expect(chown.stdout).toMatch(/rc=1\n$/);
    expect((await stat(join(t.dir, "data", "instances", String(mine.id), "workspace", "owned"))).uid).toBe(hostUid);
    // The two machines run as different host uids.
    await ssh(other, key, "nohup sleep 987702 >/dev/null 2>&1 &");
    const [otherPid] = await hostPidsOf(["sleep", "987702"]);
    const otherUid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${otherPid}/status`, "utf8"))?.[1]);
    expect(otherUid).not.toBe(hostUid);
    // A fork bomb stops at the machine's process limit (per host uid, so per machine), on the
    // init's children and on what SSH starts alike.
    const limit = await ssh(mine, key, "ulimit -u; cat /proc/1/limits | grep 'Max processes'");
    expect(limit.stdout).toMatch(new RegExp(`^${MAX_PROCESSES_PER_MACHINE}\n`));
    expect(limit.stdout).toMatch(
      new RegExp(`Max processes\\s+${MAX_PROCESSES_PER_MACHINE}\\s+${MAX_PROCESSES_PER_MACHINE}`),
    );
  });

  it("never lets a link planted in its home redirect the market's own writes on the host", async () => {
    // The market (root) writes the stand-in tools and the onstart script at every boot. Links
    // pointing at a host file must not turn those writes into writes to that file.
    const victim = join(t.dir, "victim.txt");
    await writeFile(victim, "untouched\n");
    const plant = await ssh(
      mine,
      key,
      `ln -sfn '${victim}' /root/onstart.sh; rm -rf /root/.dumont-sim 2>/dev/null; ln -sfn '${t.dir}' /root/.dumont-sim/bin 2>&1; echo rc=$?`,
    );
    expect(plant.stdout).toMatch(/Read-only file system[\s\S]*rc=1\n$/);
    expect((await t.call("PUT", `/api/v0/instances/reboot/${mine.id}/`, {})).body).toEqual({ success: true });
    const back = await waitForInstance(t, mine.id, (i) => i.actual_status === "running");
    mine = { id: mine.id, ...sshEndpoint(back) };
    expect((await t.call("PUT", `/sim/instances/${mine.id}/gpu`, { utilization: 50 })).status).toBe(200);
    expect(await readFile(victim, "utf8")).toBe("untouched\n");
    expect(await readdir(t.dir)).not.toContain("nvidia-smi");
    expect((await ssh(mine, key, "nvidia-smi -L")).code).toBe(0);
  });

  it("never hands a client's environment to the host-side tools that enter the sandbox", async () => {
    // ld.so complains once per program started with a preload it cannot find: once for the
    // command's shell means nsenter and setpriv (which run on the host side) never had it.
    const result = await run("ssh", [
      ...sshOptions(mine.port, key),
      "-o",
      "SetEnv=LD_PRELOAD=/nonexistent/dumont.so",
      `root@${mine.host}`,
      "echo $LD_PRELOAD",
    ]);
    expect(result.stdout).toBe("/nonexistent/dumont.so\n");
    expect(result.stderr.match(/cannot be preloaded/g)).toHaveLength(1);
  });

  it("has a network of its own: the host's loopback services, the market and the other machine are out of reach", async () => {
    // Stand-ins for the control plane's services: one on the host's loopback (like PostgreSQL, the
    // API, Redis), one where machines are meant to reach the host (the bridge address), one on 0.0.0.0.
    const onLoopback = await greeter("127.0.0.1", "loopback");
    const onBridge = await greeter(t.market.machineHostAddress, "bridge");
    const onAny = await greeter(MACHINE_REACHABLE_LISTEN_HOST, "any");
    const inside = await sandboxAddresses();
    try {
      // The other machine runs a service on all its addresses; the host reaches it at the machine's address.
      await ssh(other, key, `nohup python3 -c '${PY_GREETER}' 0.0.0.0 7300 other-machine >/dev/null 2>&1 &`);
      const otherAddress = inside.get(other.id);
      const myAddress = inside.get(mine.id);
      expect(otherAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(myAddress).not.toBe(otherAddress);
      expect(await waitFor("the other machine's service", () => readGreeting(otherAddress ?? "", 7300))).toBe(
        "other-machine\n",
      );

      const marketPort = Number(new URL(t.market.url).port);
      const unreachable: [string, number][] = [
        ["127.0.0.1", 5432], // PostgreSQL with trust auth on this host
        ["127.0.0.1", onLoopback.port],
        ["127.0.0.1", marketPort], // the market's own API and /sim routes
        ["127.0.0.1", other.port], // the other machine's SSH server
        [MACHINE_HOST_NAME, 5432],
        [MACHINE_HOST_NAME, onLoopback.port],
        [MACHINE_HOST_NAME, marketPort],
        [MACHINE_HOST_NAME, other.port],
        [otherAddress ?? "", 7300], // the other machine itself
      ];
      const probes = unreachable.map(([host, port]) => `${tcpProbe(host, port)}`).join("; ");
      const result = await ssh(mine, key, probes);
      expect(result.stdout.trim().split("\n")).toEqual(unreachable.map(([host, port]) => `${host}:${port} closed`));

      // What machines are meant to reach on the host answers through `dumont-host`.
      const reach = await ssh(
        mine,
        key,
        `getent hosts ${MACHINE_HOST_NAME}; ${readProbe(MACHINE_HOST_NAME, onBridge.port)}; ${readProbe(MACHINE_HOST_NAME, onAny.port)}`,
      );
      const [resolved, ...answers] = reach.stdout.split("\n");
      expect(resolved?.split(/\s+/)).toEqual([t.market.machineHostAddress, MACHINE_HOST_NAME]);
      expect(answers).toEqual(["bridge", "any", ""]);

      // It has no DNS (the host's resolver is out of reach): an unknown name fails at once, not after timeouts.
      const lookupStarted = performance.now();
      const lookup = await ssh(mine, key, "getent hosts dumont-unknown.example; echo rc=$?");
      expect(lookup.stdout).toBe("rc=2\n");
      expect(performance.now() - lookupStarted).toBeLessThan(3_000);

      // Its interfaces: its own loopback and one veth, nothing of the host's.
      const links = await ssh(mine, key, "ip -o link show | cut -d: -f2 | cut -d@ -f1; ip -o -4 addr show dev eth0");
      const [lo, eth0, ...rest] = links.stdout.trim().split("\n");
      expect([lo?.trim(), eth0?.trim()]).toEqual(["lo", "eth0"]);
      expect(rest).toHaveLength(1);
      expect(rest[0]).toContain(`inet ${myAddress}/24`);
      // No default route: beyond the bridge's /24 every address fails at once (the host's other
      // addresses, a LAN, cloud metadata), whatever the host's forwarding setting.
      const routes = await ssh(
        mine,
        key,
        "ip route; python3 -c \"import socket; s=socket.socket(); s.settimeout(2)\ntry: s.connect(('169.254.169.254', 80)); print('open')\nexcept OSError as e: print(e.errno)\"",
      );
      expect(routes.stdout).not.toContain("default");
      expect(routes.stdout.trim().split("\n").at(-1)).toBe("101"); // ENETUNREACH
      // It cannot change its network (no capability, and the namespace is the host root's).
      const change = await ssh(
        mine,
        key,
        "ip addr add 10.9.9.9/32 dev eth0 2>&1; ip link set eth0 down 2>&1; echo rc=$?",
      );
      expect(change.stdout).toMatch(/Operation not permitted[\s\S]*rc=[12]\n$/);
    } finally {
      for (const server of [onLoopback, onBridge, onAny]) server.close();
    }
  });

  it("tunnels ssh -L / -W from inside the machine, never from the host", async () => {
    const onLoopback = await greeter("127.0.0.1", "host-loopback");
    try {
      await ssh(mine, key, `nohup python3 -c '${PY_GREETER}' 127.0.0.1 7301 machine-loopback >/dev/null 2>&1 &`);
      const tunnel = (target: string) =>
        run("ssh", [...sshOptions(mine.port, key), "-W", target, `root@${mine.host}`], { input: "" });
      // `localhost` through the tunnel is the machine's own loopback ...
      const own = await waitFor("the machine's loopback service through the tunnel", async () => {
        const r = await tunnel("127.0.0.1:7301");
        return r.stdout === "machine-loopback\n" ? r : undefined;
      });
      expect(own.stdout).toBe("machine-loopback\n");
      // ... so the host's loopback services (PostgreSQL, the API, this one) cannot be tunnelled to.
      for (const target of [`127.0.0.1:${onLoopback.port}`, "127.0.0.1:5432", `localhost:${onLoopback.port}`]) {
        const r = await tunnel(target);
        expect(r.stdout, target).toBe("");
        expect(r.code, target).not.toBe(0);
      }
    } finally {
      onLoopback.close();
    }
  });

  it("still runs what jobs need: python3, git, rsync, perl, curl", async () => {
    const tools = await ssh(
      mine,
      key,
      "python3 -c 'print(6 * 7)' && git --version && rsync --version | head -1 && perl -e 'print 1' && curl --version | head -1 && cd /workspace && git init -q repo && echo ok",
    );
    expect(tools.code, tools.stderr).toBe(0);
    expect(tools.stdout).toMatch(/^42\ngit version .*\nrsync {2}version .*\n1curl .*\nok\n$/);
  });
});

describe("a machine's network", () => {
  it("is removed on destroy, and the market's bridge on close; booting adds little", async () => {
    const t = await startTestMarket({ seed: 43 });
    const key = await generateKey(t.dir);
    let closed = false;
    try {
      const bridge = await bridgeOf(t.market.machineHostAddress);
      expect(bridge).toMatch(/^dumont-sim\d+$/);
      const first = await runningInstance(t, key);
      const second = await runningInstance(t, key);
      const ports = await hostLinks(`master ${bridge}`);
      expect(ports).toHaveLength(2);
      const netns = await readdir("/run/netns");
      expect(netns.filter((n) => n.startsWith(`${bridge}-`))).toHaveLength(2);

      expect((await t.call("DELETE", `/api/v0/instances/${first.id}/`)).body).toEqual({ success: true });
      await waitFor("the destroyed machine's veth to go", async () =>
        (await hostLinks(`master ${bridge}`)).length === 1 ? true : undefined,
      );
      // A stop takes it down too; the next boot makes a new one.
      expect((await t.call("PUT", `/api/v0/instances/${second.id}/`, { state: "stopped" })).status).toBe(200);
      await waitFor("the stopped machine's veth to go", async () =>
        (await hostLinks(`master ${bridge}`)).length === 0 ? true : undefined,
      );
      expect((await readdir("/run/netns")).filter((n) => n.startsWith(`${bridge}-`))).toEqual([]);

      // What a machine's own network adds to a boot: created, configured, and removed again.
      const started = performance.now();
      for (let i = 0; i < 5; i++) {
        const run = await runningInstance(t, key);
        expect((await t.call("DELETE", `/api/v0/instances/${run.id}/`)).body).toEqual({ success: true });
      }
      expect(performance.now() - started).toBeLessThan(30_000);

      await runningInstance(t, key);
      await t.close();
      closed = true;
      expect(await hostLinks(bridge)).toEqual([]);
      expect(await hostLinks(`master ${bridge}`)).toEqual([]);
      expect((await readdir("/run/netns")).filter((n) => n.startsWith(`${bridge}-`))).toEqual([]);
    } finally {
      if (!closed) await t.close();
    }
  });
});

describe("a market that dies", () => {
  it("takes its sandboxes with it, even when SIGKILLed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "market-sigkill-"));
    // A market in its own process that rents one machine and prints the sandbox's init pid.
    const script = join(dir, "market.mts");
    await writeFile(
      script,
      `import { startMarketplace } from ${JSON.stringify(join(import.meta.dirname, "..", "src", "index.ts"))};
const m = await startMarketplace({ dataDir: ${JSON.stringify(join(dir, "data"))}, timeScale: 0.005 });
const call = (method: string, path: string, body?: unknown) =>
  fetch(m.url + path, { method, headers: { authorization: "Bearer " + m.apiKey, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.json());
const offers = await call("POST", "/api/v0/bundles/", { rentable: { eq: true }, num_gpus: { eq: 1 }, limit: 1 });
await call("PUT", "/api/v0/asks/" + offers.offers[0].id + "/", { image: "x", disk: 10 });
for (;;) {
  const pid = (await call("GET", "/sim/state")).instances[0]?.sandbox_init_pid;
  if (pid) { console.log("address " + m.machineHostAddress); console.log("init " + pid); break; }
  await new Promise((r) => setTimeout(r, 50));
}
setInterval(() => undefined, 1000);
`,
    );
    // node itself with tsx's loader (not the tsx launcher, which would be the one killed).
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: process.cwd(),
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      const initPid = await waitFor("the sandbox's init pid", () => {
        const match = /^init (\d+)$/m.exec(out);
        return Promise.resolve(match ? Number(match[1]) : undefined);
      });
      expect(await readFile(`/proc/${initPid}/cmdline`, "utf8")).toBe("sandbox-init\0");
      const bridge = await bridgeOf(/^address (\S+)$/m.exec(out)?.[1] ?? "");
      expect(await hostLinks(`master ${bridge}`)).toHaveLength(1);
      child.kill("SIGKILL");
      await waitFor("the sandbox to die with its market", async () =>
        (await readFile(`/proc/${initPid}/cmdline`, "utf8").catch(() => "")) === "" ? true : undefined,
      );
      // Its network is left behind by the SIGKILL; the next market to start removes it.
      expect(await hostLinks(bridge)).toHaveLength(1);
      const next = await startTestMarket({ seed: 44 });
      await next.close();
      expect(await hostLinks(bridge)).toEqual([]);
      expect(await hostLinks(`master ${bridge}`)).toEqual([]);
      expect((await readdir("/run/netns")).filter((n) => n.startsWith(`${bridge}-`))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a computer that cannot sandbox", () => {
  it("refuses to start the market when it cannot give machines their own network (no CAP_NET_ADMIN)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "market-nonet-"));
    try {
      const script = join(dir, "market.mts");
      await writeFile(
        script,
        `import { startMarketplace } from ${JSON.stringify(join(import.meta.dirname, "..", "src", "index.ts"))};
try { await startMarketplace({ dataDir: ${JSON.stringify(join(dir, "data"))} }); console.log("started"); process.exit(0); }
catch (error) { console.log("refused: " + error.message); }
`,
      );
      // Root still, but without CAP_NET_ADMIN (as in a container without --cap-add NET_ADMIN).
      const result = await run("setpriv", [
        "--inh-caps=-net_admin",
        "--bounding-set=-net_admin",
        "--",
        process.execPath,
        "--import",
        "tsx",
        script,
      ]);
      expect(result.stdout).toMatch(/^refused: .*CAP_NET_ADMIN.*network of its own/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start the market, saying what to install, when bubblewrap is missing", async () => {
    const originalPath = process.env.PATH;
    process.env.PATH = "/nonexistent-dir";
    try {
      await expect(startMarketplace({ dataDir: "/nonexistent-dir/market" })).rejects.toThrow(
        /bubblewrap \(bwrap\).*not installed.*tools\/system-deps\.sh.*apt-get install bubblewrap/,
      );
    } finally {
      process.env.PATH = originalPath;
    }
    expect(await readdir("/").then((entries) => entries.includes("nonexistent-dir"))).toBe(false);
  });
});

/** A TCP server that sends `greeting` and a newline to whoever connects. */
async function greeter(host: string, greeting: string): Promise<{ port: number; close: () => void }> {
  const server: Server = createServer((socket) => socket.end(`${greeting}\n`));
  await new Promise<void>((ok) => server.listen(0, host, ok));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** The same, in python3, for inside a machine: argv = host, port, greeting. */
const PY_GREETER = [
  "import socket, sys",
  "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
  "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()",
  "while True:",
  '  c, _ = s.accept(); c.sendall(sys.argv[3].encode() + b"\\n"); c.close()',
].join("\n");

/** A shell line that prints `host:port open` or `host:port closed` (connect within 3 s). */
function tcpProbe(host: string, port: number): string {
  return `if timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; then echo ${host}:${port} open; else echo ${host}:${port} closed; fi`;
}

/** A shell line that prints what a TCP server at host:port sends. */
function readProbe(host: string, port: number): string {
  return `timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}; cat <&3'`;
}

/** The first line a TCP server sends, or undefined when nothing answers. */

/** The host's interfaces matching `ip link show <filter>` (e.g. `master dumont-sim0`, or a name). */
async function hostLinks(filter: string): Promise<string[]> {
  const out = await new Promise<string>((resolve) =>
    execFile("ip", ["-j", "link", "show", ...filter.split(" ")], (_error, stdout) => resolve(stdout)),
  );
  try {
    return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname);
  } catch {
    return [];
  }
}

/** The host's interface holding `address` (a market's bridge). */
async function bridgeOf(address: string): Promise<string> {
  const out = await new Promise<string>((resolve) =>
    execFile("ip", ["-j", "-4", "addr", "show"], (_error, stdout) => resolve(stdout)),
  );
  const links = JSON.parse(out) as { ifname: string; addr_info: { local: string }[] }[];
  return links.find((l) => l.addr_info.some((a) => a.local === address))?.ifname ?? "";
}

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, fstatSync, openSync, statSync } from "node:fs";
import { chown, mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import {
  SANDBOX_ENV_PREFIX,
  SANDBOX_NAMESPACES,
  SYSTEM_PATH,
  enterArgv,
  sandboxArgv,
  sandboxHostUid,
} from "./bubblewrap-argv";
import { BUBBLEWRAP_HINT } from "./sandbox-requirements";
import type { MachineNetwork, SandboxNetwork } from "./sandbox-network";
import { HOSTS_FILE, RESOLV_CONF_FILE, instancePaths } from "./sandbox-tools";

/** Why a sandbox could not start; its message becomes the instance's `status_msg`. */
export class SandboxError extends Error {
  override readonly name = "SandboxError";
}

const READY_TIMEOUT_MS = 10_000;
/** The fd on which bwrap reports the sandbox's PID 1. */
const INFO_FD = 3;
/** Environment variable names a command may receive (what a shell can export). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every live sandbox's init pid, so an exiting process can take its namespaces down with it. */
const liveInits = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveInits) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });
}

/**
 * One instance's machine: a bubblewrap sandbox (see `bubblewrap-argv.ts` for what it contains)
 * in a network namespace of its own (`sandbox-network.ts`), whose PID 1 is a tiny init that reaps
 * orphans. SSH commands join its namespaces through `nsenter`, on namespace fds opened once at
 * start. Its network is removed once it is dead. Killing the init (SIGKILL) makes the kernel
 * kill every process in the PID namespace, `nohup` and `setsid` ones included; the init's
 * lifeline does the same when this Node process dies, even by SIGKILL. The disk
 * directories stay on the host until the instance is destroyed.
 */
export class BubblewrapSandbox {
  private exited: Promise<void>;
  private dead = false;

  private readonly bwrap: ChildProcess;
  /** Host pid of the sandbox's PID 1. */
  readonly initPid: number;
  /** Open fds of the sandbox's namespaces, in `SANDBOX_NAMESPACES` order. */
  private readonly namespaceFds: readonly number[];
  private readonly network: MachineNetwork;

  private constructor(
    started: { bwrap: ChildProcess; initPid: number; namespaceFds: readonly number[]; network: MachineNetwork },
    private readonly logger: Logger,
  ) {
    const { bwrap, initPid, namespaceFds, network } = started;
    this.bwrap = bwrap;
    this.initPid = initPid;
    this.namespaceFds = namespaceFds;
    this.network = network;
    const processExited = new Promise<void>((resolve) => {
      if (bwrap.exitCode !== null || bwrap.signalCode !== null) resolve();
      else bwrap.once("exit", () => resolve());
    });
    void processExited.then(() => {
      this.dead = true;
      liveInits.delete(initPid);
      for (const fd of namespaceFds) closeQuietly(fd);
    });
    // "Exited" includes the network's removal, so a stopped machine leaves no veth behind.
    this.exited = processExited.then(() => network.release());
  }

  /** The machine's own address, where the host reaches services listening inside it. */
  get address(): string {
    return this.network.address;
  }

  static async start(dir: string, logger: Logger, networks: SandboxNetwork): Promise<BubblewrapSandbox> {
    const paths = instancePaths(dir);
    const uid = sandboxHostUid(dir);
    await mkdir(paths.workspace, { recursive: true });
    await mkdir(paths.home, { recursive: true });
    await mkdir(paths.simDir, { recursive: true });
    // The sandbox's root owns its disk and home; the market's tools directory stays root's.
    await chown(paths.workspace, uid, uid);
    await chown(paths.home, uid, uid);

    const network = await networks.attach(basename(dir));
    try {
      return await BubblewrapSandbox.startIn(network, dir, uid, logger);
    } catch (error) {
      await network.release();
      throw error;
    }
  }

  private static async startIn(
    network: MachineNetwork,
    dir: string,
    uid: number,
    logger: Logger,
  ): Promise<BubblewrapSandbox> {
    const paths = instancePaths(dir);
    await writeFile(join(paths.simDir, HOSTS_FILE), network.hostsFile(basename(dir)), { mode: 0o644 });
    await writeFile(join(paths.simDir, RESOLV_CONF_FILE), network.resolvConf(), { mode: 0o644 });
    const [command = "nsenter", ...args] = sandboxArgv({ dir, ...paths }, uid, INFO_FD, network.netnsPath);
    const bwrap = spawn(command, args, {
      env: { PATH: process.env.PATH ?? SYSTEM_PATH },
      // fd 3: bwrap's report; fd 4: the init's lifeline (see bubblewrap-argv.ts), never written.
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    });
    const started = await waitForStart(bwrap);
    if (!started.ok) {
      await killAndWait(bwrap);
      throw new SandboxError(started.reason);
    }
    const { initPid, namespaceIds } = started;
    let namespaceFds: number[];
    try {
      namespaceFds = openNamespaces(initPid, { ...namespaceIds, "net-namespace": statSync(network.netnsPath).ino });
    } catch (cause) {
      await killAndWait(bwrap);
      throw new SandboxError(`sandbox: cannot open the sandbox's namespaces (${errorText(cause)})`);
    }
    installExitHook();
    liveInits.add(initPid);
    logger.debug({ initPid, uid, dir, address: network.address }, "sandbox started");
    return new BubblewrapSandbox({ bwrap, initPid, namespaceFds, network }, logger);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Resolves when the sandbox is gone (killed by us, or its init died some other way). */
  async whenExited(): Promise<void> {
    await this.exited;
  }

  /** Starts `argv` inside the sandbox, cwd /workspace, with exactly `env`. The caller owns the process. */
  spawn(argv: readonly string[], env: Readonly<Record<string, string>>): ChildProcess {
    if (this.dead) {
      // Never throws (callers are SSH event handlers): the command fails the way a gone machine would.
      return spawn("/bin/sh", ["-c", 'echo "sandbox: the machine is not running" >&2; exit 255'], {
        env: { PATH: SYSTEM_PATH },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
    }
    const wrapped: Record<string, string> = { PATH: SYSTEM_PATH };
    for (const [name, value] of Object.entries(env)) {
      if (ENV_NAME.test(name) && !value.includes("\0")) wrapped[SANDBOX_ENV_PREFIX + name] = value;
    }
    const [command = "nsenter", ...args] = enterArgv(argv);
    return spawn(command, args, {
      env: wrapped,
      stdio: ["pipe", "pipe", "pipe", ...this.namespaceFds],
      // Its own process group, so a hang-up can reach everything the command started in it.
      detached: true,
    });
  }

  /** SIGKILLs the sandbox's init; the kernel then kills every process inside. Idempotent. */
  async kill(): Promise<void> {
    if (!this.dead) {
      try {
        process.kill(this.initPid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    const settled = await Promise.race([this.exited.then(() => true), sleep(5_000).then(() => false)]);
    if (!settled) {
      this.logger.warn({ initPid: this.initPid }, "sandbox init did not exit after SIGKILL; killing bwrap");
      this.bwrap.kill("SIGKILL");
      await this.exited;
    }
    liveInits.delete(this.initPid);
  }
}

type StartOutcome = { ok: true; initPid: number; namespaceIds: Record<string, number> } | { ok: false; reason: string };

/**
 * Waits for bwrap's report of the init's pid (fd 3) and the init's "ready" (stdout, printed once
 * every mount is in place), or for bwrap to fail, whose stderr then says why.
 */
async function waitForStart(child: ChildProcess): Promise<StartOutcome> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let info = "";
    let parsed: Record<string, number> | undefined;
    let done = false;
    const finish = (outcome: StartOutcome) => {
      if (done) return;
      done = true;
      // The pipes stay open for the sandbox's life and the code inside may write to them: stop
      // keeping what comes, and drain it so nothing piles up.
      for (const stream of [child.stdout, child.stderr, child.stdio[INFO_FD]]) {
        const readable = stream as NodeJS.ReadableStream | null | undefined;
        readable?.removeAllListeners("data");
        readable?.resume();
      }
      clearTimeout(timer);
      resolve(outcome);
    };
    const failed = (what: string) => {
      const text = stderr.trim().slice(0, 500);
      finish({ ok: false, reason: `sandbox: ${what}${text ? `: ${text}` : ""}. ${BUBBLEWRAP_HINT}` });
    };
    const check = () => {
      if (!parsed || !stdout.includes("ready\n")) return;
      const initPid = parsed["child-pid"];
      if (typeof initPid !== "number" || !Number.isInteger(initPid) || initPid <= 1) {
        failed("bwrap reported no pid for the sandbox");
        return;
      }
      finish({ ok: true, initPid, namespaceIds: parsed });
    };
    const timer = setTimeout(() => failed("bubblewrap did not start the sandbox within 10 s"), READY_TIMEOUT_MS);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      check();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // The staging bwrap keeps this pipe open for the sandbox's life: parse as soon as it is whole.
    child.stdio[INFO_FD]?.on("data", (chunk: Buffer) => {
      info += chunk.toString();
      try {
        parsed = JSON.parse(info) as Record<string, number>;
      } catch {
        return;
      }
      check();
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        finish({ ok: false, reason: `sandbox: bubblewrap (bwrap) or nsenter is not installed. ${BUBBLEWRAP_HINT}` });
      } else {
        stderr += error.message;
        failed("cannot run bubblewrap");
      }
    });
    child.once("exit", () => {
      // Let buffered stderr arrive before reporting.
      setImmediate(() => failed("bubblewrap could not create the sandbox"));
    });
  });
}

/**
 * Opens the init's namespaces once, so every later command joins these very namespaces (a pid
 * can be reused; an open namespace cannot change). The mount and PID namespaces are checked
 * against what bwrap reported, so a pid reused in between cannot slip in.
 */
function openNamespaces(initPid: number, reported: Record<string, number>): number[] {
  const fds: number[] = [];
  try {
    for (const kind of SANDBOX_NAMESPACES) fds.push(openSync(`/proc/${initPid}/ns/${kind}`, "r"));
    const check: [number, number | undefined][] = [
      [fds[SANDBOX_NAMESPACES.indexOf("mnt")] ?? -1, reported["mnt-namespace"]],
      [fds[SANDBOX_NAMESPACES.indexOf("pid")] ?? -1, reported["pid-namespace"]],
      // The machine's own network, never the host's.
      [fds[SANDBOX_NAMESPACES.indexOf("net")] ?? -1, reported["net-namespace"]],
    ];
    for (const [fd, id] of check) {
      if (fstatSync(fd).ino !== id)
        throw new Error("the sandbox's init was replaced before its namespaces were opened");
    }
    return fds;
  } catch (error) {
    for (const fd of fds) closeQuietly(fd);
    throw error;
  }
}

/** Kills a sandbox that failed to start and waits for it, so its network can go. */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await Promise.race([exited, sleep(5_000)]);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { instancePaths } from "./sandbox-tools";

/** Why a sandbox could not start; its message becomes the instance's `status_msg`. */
export class SandboxError extends Error {
  override readonly name = "SandboxError";
}

/**
 * The namespace's init: bind the instance's disk at /workspace and its home at /root (inside the
 * private mount namespace only), say "ready", then become a tiny init that reaps orphans (the
 * `nohup … &` children of SSH sessions end up as its children). Paths arrive as environment
 * variables so no quoting can break them. Perl is on every Debian/Ubuntu (perl-base); the shell
 * loop is the fallback.
 */
const INIT_SCRIPT = `set -e
mount --bind "$SANDBOX_WORKSPACE" /workspace
mount --bind "$SANDBOX_HOME" /root
echo ready
if command -v perl >/dev/null 2>&1; then
  exec perl -e '$0 = "sandbox-init"; $SIG{CHLD} = sub {}; while (1) { my $p = wait(); sleep 1 if $p == -1; }'
fi
exec sh -c 'while :; do sleep 3600 & wait; done'
`;

const READY_TIMEOUT_MS = 10_000;

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
 * One instance's machine: a PID + mount namespace (`unshare --fork --pid --mount`) whose init is
 * PID 1 inside. Every SSH command runs in it through `nsenter`, sees the instance's own
 * /workspace and /root and only the instance's processes in `ps`. Killing the init (SIGKILL) makes
 * the kernel kill every process in the namespace, `nohup` and `setsid` ones included; the disk
 * directories stay on the host until the instance is destroyed.
 */
export class NamespaceSandbox {
  private exited: Promise<void>;
  private dead = false;

  private constructor(
    private readonly unshare: ChildProcess,
    /** Host pid of the namespace's PID 1. */
    readonly initPid: number,
    private readonly logger: Logger,
  ) {
    this.exited = new Promise((resolve) => {
      if (unshare.exitCode !== null || unshare.signalCode !== null) resolve();
      else unshare.once("exit", () => resolve());
    });
    void this.exited.then(() => {
      this.dead = true;
      liveInits.delete(initPid);
    });
  }

  static async start(dir: string, logger: Logger): Promise<NamespaceSandbox> {
    const paths = instancePaths(dir);
    await mkdir(paths.workspace, { recursive: true });
    await mkdir(paths.home, { recursive: true });
    try {
      // The bind mounts need their targets; /root exists on any Linux, /workspace maybe not.
      await mkdir("/workspace", { recursive: true });
    } catch (cause) {
      throw new SandboxError(
        `sandbox: cannot create the /workspace mount point (${errorText(cause)}); run the marketplace as root on Linux`,
      );
    }
    let unshare: ChildProcess;
    try {
      unshare = spawn(
        "unshare",
        [
          "--fork",
          "--pid",
          "--mount",
          "--propagation",
          "private",
          "--mount-proc",
          "--kill-child",
          "sh",
          "-c",
          INIT_SCRIPT,
        ],
        {
          env: {
            PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
            SANDBOX_WORKSPACE: paths.workspace,
            SANDBOX_HOME: paths.home,
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
    } catch (cause) {
      throw new SandboxError(`sandbox: cannot run unshare (${errorText(cause)})`);
    }
    const output = await waitForReady(unshare);
    if (!output.ready) {
      unshare.kill("SIGKILL");
      throw new SandboxError(
        `sandbox: unshare failed to create the instance's namespaces${output.text ? `: ${output.text}` : ""}. The local marketplace needs root on Linux (mount and PID namespaces).`,
      );
    }
    const unsharePid = unshare.pid;
    const initPid = unsharePid === undefined ? undefined : await childOf(unsharePid);
    if (initPid === undefined) {
      unshare.kill("SIGKILL");
      throw new SandboxError("sandbox: the namespace init vanished right after it started");
    }
    installExitHook();
    liveInits.add(initPid);
    logger.debug({ initPid, dir }, "sandbox started");
    return new NamespaceSandbox(unshare, initPid, logger);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Resolves when the namespace is gone (killed by us, or its init died some other way). */
  async whenExited(): Promise<void> {
    await this.exited;
  }

  /** Starts `argv` inside the namespaces, cwd /workspace. The caller owns the process. */
  spawn(argv: readonly string[], env: Readonly<Record<string, string>>): ChildProcess {
    const options: SpawnOptions = {
      env: { ...env },
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group, so a hang-up can reach everything the command started in it.
      detached: true,
    };
    // nsenter's --wd opens the directory before entering the mount namespace (the host's
    // /workspace), so the change of directory happens inside, in a shell, before exec.
    return spawn(
      "nsenter",
      [
        "--target",
        String(this.initPid),
        "--mount",
        "--pid",
        "--",
        "/bin/sh",
        "-c",
        'cd /workspace 2>/dev/null || cd /; exec "$@"',
        "sandbox",
        ...argv,
      ],
      options,
    );
  }

  /** SIGKILLs the namespace's init; the kernel then kills every process inside. Idempotent. */
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
      this.logger.warn({ initPid: this.initPid }, "sandbox init did not exit after SIGKILL; killing unshare");
      this.unshare.kill("SIGKILL");
      await this.exited;
    }
    liveInits.delete(this.initPid);
  }
}

async function waitForReady(child: ChildProcess): Promise<{ ready: boolean; text: string }> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let done = false;
    const finish = (ready: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ready, text: stderr.trim().slice(0, 500) });
    };
    const timer = setTimeout(() => finish(false), READY_TIMEOUT_MS);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("ready\n")) finish(true);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", (error) => {
      stderr += error.message;
      finish(false);
    });
    child.once("exit", () => {
      // Let buffered stderr arrive before reporting.
      setImmediate(() => finish(false));
    });
  });
}

/** The child of `pid` (unshare's forked child is the namespace's PID 1). */
async function childOf(pid: number): Promise<number | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
      const first = text.trim().split(/\s+/)[0];
      if (first) return Number(first);
    } catch {
      return undefined;
    }
    await sleep(10);
  }
  return undefined;
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

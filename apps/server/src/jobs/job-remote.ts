import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { rsync, shellQuote, sshExec, type SshEndpoint } from "@dumont/providers";
import { JOB_DIR, START_SUPERVISOR, type JobFile } from "./job-script";

export interface JobRemoteState {
  phase: "setup" | "run" | "none";
  exitCode: number | null;
  /** New log bytes since the offset asked for. */
  logChunk: string;
  logBytes: number;
}

// One poll reads at most this much new log; the rest comes on the next poll.
const LOG_CHUNK = 512 * 1024;

/** What a job does to its machine over SSH: write files, start the supervisor, read its state, copy files back. */
export class JobRemote {
  constructor(
    private readonly endpoint: SshEndpoint,
    private readonly privateKey: string,
  ) {}

  async upload(files: readonly JobFile[]): Promise<void> {
    for (const file of files) {
      // Content goes through stdin, never the command line (it may hold tokens).
      const path = `${JOB_DIR}/${file.name}`;
      const result = await sshExec({
        endpoint: this.endpoint,
        privateKey: this.privateKey,
        command: `mkdir -p ${JOB_DIR} && umask 077 && cat > ${shellQuote(path)}`,
        stdin: file.content,
        timeoutMs: 60_000,
      });
      if (result.exitCode !== 0) throw new Error(`writing ${path} failed: ${result.stderr.trim()}`);
    }
  }

  async start(): Promise<void> {
    const result = await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: START_SUPERVISOR,
      timeoutMs: 30_000,
    });
    if (result.exitCode !== 0) throw new Error(`starting the supervisor failed: ${result.stderr.trim()}`);
  }

  async state(logOffset: number): Promise<JobRemoteState> {
    const script = [
      `cat ${JOB_DIR}/phase 2>/dev/null || echo none`,
      `cat ${JOB_DIR}/exit_code 2>/dev/null || echo -`,
      `tail -c +${logOffset + 1} ${JOB_DIR}/job.log 2>/dev/null | head -c ${LOG_CHUNK}`,
    ].join("; ");
    // Short: a lost machine must be noticed quickly, and the next poll retries anyway.
    const result = await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: script,
      timeoutMs: 10_000,
    });
    const [phase = "none", exit = "-"] = result.stdout.split("\n", 2);
    const headerLength = phase.length + exit.length + 2;
    const logChunk = result.stdout.slice(headerLength);
    return {
      phase: phase === "setup" || phase === "run" ? phase : "none",
      exitCode: exit.trim() === "-" ? null : Number(exit.trim()),
      logChunk,
      logBytes: Buffer.byteLength(logChunk, "utf8"),
    };
  }

  /** Copies remote paths into a local directory (one subdirectory per path), skipping missing ones. */
  async pull(paths: readonly string[], localDir: string, timeoutMs = 600_000): Promise<void> {
    for (const path of paths) {
      const quoted = shellQuote(path);
      const kind = await sshExec({
        endpoint: this.endpoint,
        privateKey: this.privateKey,
        command: `if [ -d ${quoted} ]; then echo dir; elif [ -e ${quoted} ]; then echo file; else echo none; fi`,
      });
      const type = kind.stdout.trim();
      if (type === "none") continue;
      const relative = path.replace(/^\/+/, "").replace(/\/+$/, "");
      const target = type === "dir" ? join(localDir, relative) : join(localDir, dirname(relative));
      mkdirSync(target, { recursive: true });
      await rsync({
        endpoint: this.endpoint,
        privateKey: this.privateKey,
        source: type === "dir" ? `${path.replace(/\/+$/, "")}/` : path,
        destination: `${target}/`,
        direction: "pull",
        timeoutMs,
      });
    }
  }

  /** Puts a saved checkpoint back where the command expects it (a new machine after an interruption). */
  async push(localDir: string, remotePath: string): Promise<void> {
    await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: `mkdir -p ${shellQuote(remotePath)}`,
    });
    await rsync({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      source: `${localDir.replace(/\/+$/, "")}/`,
      destination: `${remotePath.replace(/\/+$/, "")}/`,
      direction: "push",
    });
  }
}

import { parseExitCode, untrustedText } from "@dumont/core";
import { shellQuote, sshExec, type SshEndpoint } from "@dumont/providers";
import { JOB_DIR, SETUP_STEPS, START_SUPERVISOR, type JobFile, type SetupStep } from "./job-script";

export interface JobRemoteState {
  phase: "setup" | "run" | "none";
  /** The setup step running (or the one that failed), when the supervisor named one. */
  setupStep: SetupStep | null;
  /** The command's exit code once it has one; `invalid` when the machine wrote something else there. */
  exit: { code: number } | { invalid: string } | null;
  /** New log bytes since the offset asked for (raw bytes: the log is the user's, not text we trust). */
  logChunk: Buffer;
}

/** One poll reads at most this much new log; the rest comes on the next poll. */
export const LOG_CHUNK_BYTES = 512 * 1024;

/**
 * What a job does to its machine over SSH: write files, start the supervisor, read its state.
 * Copies of files go through `MachineTransfer`. Everything the machine answers is parsed strictly.
 */
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
      if (result.exitCode !== 0) throw new Error(`writing ${path} failed: ${untrustedText(result.stderr.trim())}`);
    }
  }

  async start(): Promise<void> {
    const result = await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: START_SUPERVISOR,
      timeoutMs: 30_000,
    });
    if (result.exitCode !== 0)
      throw new Error(`starting the supervisor failed: ${untrustedText(result.stderr.trim())}`);
  }

  async state(logOffset: number): Promise<JobRemoteState> {
    // Phase and exit code are at most a few bytes when honest; the log chunk travels as base64 so
    // its bytes arrive exactly (no text decoding in between) and its length is bounded.
    const script = [
      // One line each, whatever the files hold (the user's code can write them too).
      `if [ -f ${JOB_DIR}/phase ]; then head -c 32 ${JOB_DIR}/phase | tr -d '\\r\\n'; else printf none; fi; echo`,
      `if [ -f ${JOB_DIR}/exit_code ]; then head -c 32 ${JOB_DIR}/exit_code | tr -d '\\r\\n'; else printf -; fi; echo`,
      `tail -c +${logOffset + 1} ${JOB_DIR}/job.log 2>/dev/null | head -c ${LOG_CHUNK_BYTES} | base64 | tr -d '\\n'`,
    ].join("; ");
    // Short: a lost machine must be noticed quickly, and the next poll retries anyway.
    const result = await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: script,
      timeoutMs: 10_000,
    });
    const [phase = "none", exit = "-", encoded = ""] = result.stdout.split("\n", 3);
    const logChunk = Buffer.from(encoded.trim(), "base64").subarray(0, LOG_CHUNK_BYTES);
    let parsedExit: JobRemoteState["exit"] = null;
    if (exit.trim() !== "-" && exit.trim() !== "") {
      const code = parseExitCode(exit);
      parsedExit = code.ok ? { code: code.value } : { invalid: untrustedText(code.problem, 200) };
    }
    // `setup:<step>` while a setup step runs (the supervisor names it so a failure can say which).
    const [word = "none", step = ""] = phase.split(":", 2);
    const setupStep = word === "setup" && Object.hasOwn(SETUP_STEPS, step) ? (step as SetupStep) : null;
    return { phase: word === "setup" || word === "run" ? word : "none", setupStep, exit: parsedExit, logChunk };
  }
}

import { signalGroup } from "../ssh/session-process";
import type { BubblewrapSandbox } from "./bubblewrap-sandbox";

/** What a command run in a machine left: its output (stdout and stderr, in arrival order) and how it ended. */
export interface MachineRun {
  output: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The output went past `maxBytes`; the rest was dropped (the command still ran to its end). */
  truncated: boolean;
  /** It ran past `timeoutMs` and was killed with everything it started. */
  timedOut: boolean;
}

export interface RunLimits {
  timeoutMs: number;
  maxBytes: number;
}

/**
 * Runs `argv` in the machine the way an SSH command runs there (`BubblewrapSandbox.spawn`: the
 * sandbox's namespaces, no capabilities, cwd /workspace, exactly `env`), with no stdin, and
 * collects what it prints. Used by the API's execute and logs calls, so they see only what a user's
 * own shell in the machine would see.
 */
export async function runInMachine(
  sandbox: BubblewrapSandbox,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  limits: RunLimits,
): Promise<MachineRun> {
  const child = sandbox.spawn(argv, env);
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  let timedOut = false;
  const collect = (chunk: Buffer) => {
    if (size >= limits.maxBytes) {
      truncated = true;
      return;
    }
    const room = limits.maxBytes - size;
    if (chunk.length > room) truncated = true;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    chunks.push(kept);
    size += kept.length;
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  child.stdin?.on("error", () => undefined);
  child.stdin?.end();
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child, "SIGKILL");
  }, limits.timeoutMs);
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", (error) => {
      collect(Buffer.from(`sandbox: ${error.message}\n`));
      resolve({ code: 127, signal: null });
    });
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  return {
    output: Buffer.concat(chunks).toString("utf8"),
    exitCode: ended.code,
    signal: ended.signal,
    truncated,
    timedOut,
  };
}

import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { once } from "node:events";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
export const DUMONT_BIN = resolve(REPO_ROOT, "bin/dumont.cjs");

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the built `dumont server` as a real child process on a free port and waits for it to
 * say it is ready. Used where only a real process proves the point (SIGKILL, several replicas).
 */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [DUMONT_BIN, "server", "--port", "0"], {
    // Registration is open for tests unless they set DUMONT_REGISTRATION ("" = the real default).
    env: { ...process.env, NODE_EXTRA_CA_CERTS: "", DUMONT_REGISTRATION: "open", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${text}`)), 20_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*dumont server ready/.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${text}`));
    });
  });
  const keepReading = (chunk: Buffer) => {
    text += chunk.toString();
  };
  child.stdout.removeAllListeners("data");
  child.stderr.removeAllListeners("data");
  child.stdout.on("data", keepReading);
  child.stderr.on("data", keepReading);
  return {
    child,
    url,
    output: () => text,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    },
  };
}

import { spawn } from "node:child_process";
import { DUMONT_BIN } from "./server-process";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `dumont` exactly as a user would (a fresh process). `env` adds to this process's
 * environment; DUMONT_TOKEN starts empty so a developer's own token never leaks into a test.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DUMONT_BIN, ...args], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: "", DUMONT_TOKEN: "", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(options.stdin ?? "");
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A user's CLI session against one server: `run` as they would type it, and `json` for `--json`
 * answers that must succeed. `env` is read at each call (the server's URL is known only later).
 */
export function cliSession(env: () => Record<string, string>): {
  run: (args: string[], options?: { stdin?: string }) => Promise<CliRun>;
  json: <T>(args: string[]) => Promise<T>;
} {
  const run = (args: string[], options: { stdin?: string } = {}) => runCli(args, { env: env(), ...options });
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await run(["--json", ...args]);
    if (result.code !== 0) throw new Error(`dumont ${args.join(" ")} failed: ${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  return { run, json };
}

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

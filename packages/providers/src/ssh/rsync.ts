import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DumontError } from "@dumont/core";
import type { SshEndpoint } from "../provider";
import { shellQuote } from "./ssh-session";

export interface RsyncOptions {
  endpoint: SshEndpoint;
  privateKey: string;
  /** Local path (for push) or remote path (for pull); a trailing slash copies contents. */
  source: string;
  destination: string;
  direction: "push" | "pull";
  delete?: boolean;
  timeoutMs?: number;
}

/**
 * Copies with the system's rsync over the system's ssh: fast, incremental, resumable. The key
 * goes in a 0600 temp file because ssh will not read keys from anywhere else.
 */
export async function rsync(options: RsyncOptions): Promise<{ stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), "dumont-rsync-"));
  const keyFile = join(dir, "key");
  writeFileSync(keyFile, options.privateKey, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  const { endpoint } = options;
  const ssh = [
    "ssh",
    `-p ${endpoint.port}`,
    `-i ${shellQuote(keyFile)}`,
    "-o StrictHostKeyChecking=no",
    "-o UserKnownHostsFile=/dev/null",
    "-o BatchMode=yes",
    "-o LogLevel=ERROR",
    "-o ConnectTimeout=20",
    // A machine that vanishes mid-copy (spot loss) must fail the copy, not hang it.
    "-o ServerAliveInterval=5",
    "-o ServerAliveCountMax=3",
  ].join(" ");
  const remote = (path: string) => `${endpoint.user}@${endpoint.host}:${path}`;
  const args = [
    "-a",
    "--partial",
    ...(options.delete ? ["--delete"] : []),
    "-e",
    ssh,
    options.direction === "push" ? options.source : remote(options.source),
    options.direction === "push" ? remote(options.destination) : options.destination,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("rsync", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(
        new DumontError({
          code: "MACHINE_UNREACHABLE",
          message: `rsync could not start: ${error.message}`,
          cause: error,
        }),
      );
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout });
      else
        reject(
          new DumontError({
            code: "MACHINE_UNREACHABLE",
            message: `rsync ${options.direction} to ${endpoint.host}:${endpoint.port} failed (exit ${code}): ${stderr.trim().slice(0, 500)}`,
          }),
        );
    });
  });
}

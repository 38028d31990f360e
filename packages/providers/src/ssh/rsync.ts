import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  /** Aborting kills rsync (a size watchdog, a cancelled job). */
  signal?: AbortSignal;
}

/**
 * What a copy keeps: regular files and directories with their contents and times, nothing else.
 * The other side may be hostile (a stranger's host, the user's code as root), so a copy never
 * creates symlinks (`--no-links`: a link to / would be followed later), devices or FIFOs, never
 * keeps owners or groups, and gives every file a fixed mode (no setuid, no world access). Files
 * that are not plain are skipped, which rsync reports and we accept.
 */
export const RSYNC_SAFE_FLAGS: readonly string[] = [
  "--recursive",
  "--times",
  "--no-links",
  "--no-devices",
  "--no-specials",
  "--no-owner",
  "--no-group",
  "--perms",
  "--chmod=D0700,F0600",
];

/**
 * Copies with the system's rsync over the system's ssh: fast, incremental, resumable, and only
 * plain files (`RSYNC_SAFE_FLAGS`). The key goes in a 0600 temp file because ssh will not read
 * keys from anywhere else; the temp directory is removed afterwards.
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
    ...RSYNC_SAFE_FLAGS,
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
    // The far side can print without end; keep only the start of what it says.
    child.stdout.on("data", (c: Buffer) => {
      if (stdout.length < 65_536) stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 65_536) stderr += c.toString();
    });
    const kill = () => child.kill("SIGKILL");
    const timer = setTimeout(kill, options.timeoutMs ?? 600_000);
    options.signal?.addEventListener("abort", kill, { once: true });
    if (options.signal?.aborted) kill();
    const cleanUp = () => rmSync(dir, { recursive: true, force: true });
    child.on("error", (error) => {
      clearTimeout(timer);
      cleanUp();
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
      options.signal?.removeEventListener("abort", kill);
      cleanUp();
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

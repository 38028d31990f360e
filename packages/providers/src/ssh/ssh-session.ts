// ssh2 is CommonJS: take runtime values from its default export (see ssh-keys.ts).
import ssh2 from "ssh2";
import { DumontError } from "@dumont/core";
import type { SshEndpoint } from "../provider";

export interface ExecOptions {
  endpoint: SshEndpoint;
  privateKey: string;
  command: string;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  stdin?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The server's pinned host key (OpenSSH form, `ssh-ed25519 AAAA…`): any other key fails the
   * connection (MACHINE_UNREACHABLE). Without it, any key is accepted (rented machines' keys are
   * not known in advance).
   */
  hostKey?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// Keep at most this much output in memory; streaming callbacks still see everything.
const MAX_CAPTURE = 1_000_000;

/**
 * Runs one command on a machine over SSH (ssh2, no system ssh needed) and returns its exit code
 * and output. Connection failures become MACHINE_UNREACHABLE; a non-zero exit is a result.
 */
export function sshExec(options: ExecOptions): Promise<ExecResult> {
  let hostVerifier: ((key: Buffer) => boolean) | undefined;
  try {
    hostVerifier = options.hostKey === undefined ? undefined : pinnedHostVerifier(options.hostKey);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish = (error: Error | undefined, result?: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      client.end();
      if (error) reject(error);
      else if (result) resolve(result);
    };
    const unreachable = (cause: unknown) =>
      new DumontError({
        code: "MACHINE_UNREACHABLE",
        message: `SSH to ${options.endpoint.host}:${options.endpoint.port} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      });
    const timer = setTimeout(
      () => finish(unreachable(new Error(`timed out after ${options.timeoutMs ?? 60_000} ms`))),
      options.timeoutMs ?? 60_000,
    );
    const onAbort = () => finish(new DumontError({ code: "MACHINE_UNREACHABLE", message: "SSH command aborted" }));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // A signal aborted before the call fires no event: nothing is started.
    if (options.signal?.aborted) return onAbort();
    client
      .on("ready", () => {
        client.exec(options.command, (error, channel) => {
          if (error) return finish(unreachable(error));
          let exitCode: number | undefined;
          channel.on("exit", (code: number | null) => {
            exitCode = code ?? 255;
          });
          channel.on("data", (chunk: Buffer) => {
            const text = chunk.toString("utf8");
            if (stdout.length < MAX_CAPTURE) stdout += text;
            options.onStdout?.(text);
          });
          channel.stderr.on("data", (chunk: Buffer) => {
            const text = chunk.toString("utf8");
            if (stderr.length < MAX_CAPTURE) stderr += text;
            options.onStderr?.(text);
          });
          channel.on("close", () => {
            if (exitCode === undefined) finish(unreachable(new Error("connection closed before the command exited")));
            else finish(undefined, { exitCode, stdout, stderr });
          });
          if (options.stdin !== undefined) channel.end(options.stdin);
          else channel.end();
        });
      })
      .on("error", (error) => finish(unreachable(error)))
      .connect({
        host: options.endpoint.host,
        port: options.endpoint.port,
        username: options.endpoint.user,
        privateKey: options.privateKey,
        readyTimeout: 20_000,
        keepaliveInterval: 10_000,
        ...(hostVerifier ? { hostVerifier } : {}),
      });
  });
}

/** Accepts only the server key whose wire form equals the pinned key's. */
function pinnedHostVerifier(hostKey: string): (key: Buffer) => boolean {
  const parsed = ssh2.utils.parseKey(hostKey.trim());
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey()) {
    throw new RangeError("the pinned host key is not an OpenSSH public key");
  }
  const pinned = parsed.getPublicSSH();
  return (key) => Buffer.compare(key, pinned) === 0;
}

/** Quotes a string for a POSIX shell: the only way user strings reach a remote command line. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

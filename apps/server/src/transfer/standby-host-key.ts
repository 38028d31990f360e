// ssh2 is CommonJS: take runtime values from its default export (see providers' ssh-keys.ts).
import ssh2 from "ssh2";
import { DumontError } from "@dumont/core";
import type { SshEndpoint } from "@dumont/providers";

/**
 * A standby's SSH host key, pinned at first contact (when the control plane has just created the
 * machine and nobody else can have answered at its address), so every later connection, from
 * the control plane or from a GPU machine, can refuse an impostor.
 */

/** `type base64` (any comment dropped); a RangeError when the text is not one public key. */
export function normalizeHostKey(text: string): string {
  const fields = text.trim().split(/\s+/);
  // A comment may hold spaces; it is dropped.
  if (/[\r\n]/.test(text.trim()) || fields.length < 2) {
    throw new RangeError("a host key is one line: `ssh-ed25519 AAAA…`");
  }
  const [type, blob] = fields as [string, string];
  const parsed = ssh2.utils.parseKey(`${type} ${blob}`);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey() || parsed.type !== type) {
    throw new RangeError(`not an OpenSSH public key of type ${JSON.stringify(type.slice(0, 40))}`);
  }
  return `${type} ${parsed.getPublicSSH().toString("base64")}`;
}

/** The wire form of a key (as `hostVerifier` sees it) in OpenSSH's one-line form. */
export function hostKeyFromBlob(blob: Buffer): string {
  // The blob starts with its type: a uint32 length, then that many ASCII bytes.
  if (blob.length < 4) throw new RangeError("host key blob too short");
  const length = blob.readUInt32BE(0);
  if (length < 1 || length > 64 || blob.length < 4 + length) throw new RangeError("host key blob has no type");
  return normalizeHostKey(`${blob.subarray(4, 4 + length).toString("latin1")} ${blob.toString("base64")}`);
}

/**
 * Connects and captures the key the server presents, then hangs up before authenticating. With
 * several host keys on the server, this is the one ssh2 negotiates first (ed25519 before ECDSA
 * before RSA), and OpenSSH, given a known_hosts line of that type, negotiates the same one.
 */
export function readHostKey(endpoint: SshEndpoint, options: { timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let captured: string | undefined;
    let problem: unknown;
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (captured !== undefined) resolve(captured);
      else
        reject(
          new DumontError({
            code: "MACHINE_UNREACHABLE",
            message: `could not read the SSH host key of ${endpoint.host}:${endpoint.port}: ${describe(problem ?? error)}`,
            cause: problem ?? error,
          }),
        );
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    client
      .on("error", (error) => finish(error))
      .on("close", () => finish(new Error("the connection closed before a host key was offered")))
      .on("ready", () => finish(new Error("the server let us in without checking the host key")))
      .connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer) => {
          try {
            captured = hostKeyFromBlob(key);
          } catch (error) {
            problem = error;
          }
          // Refusing ends the handshake: nothing is authenticated, nothing runs.
          return false;
        },
      });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

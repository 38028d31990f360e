import { createHash } from "node:crypto";
// ssh2 is CommonJS: Node's ESM loader does not see `utils` as a named export.
import ssh2 from "ssh2";

const { utils } = ssh2;

export interface SshKeyPair {
  /** OpenSSH private key text (what `ssh -i` reads). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, for authorized_keys and marketplace key APIs. */
  publicKey: string;
}

/** A fresh ed25519 key pair, for the control plane's own access to machines. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  // ssh2 sometimes emits an ed25519 key it cannot parse back (about 1 in 300: a leading zero byte
  // is dropped), so draw again until the private key reads.
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    const parsed = utils.parseKey(pair.private);
    if (!(parsed instanceof Error)) return { privateKey: pair.private, publicKey: pair.public.trim() };
  }
  throw new Error("could not generate a readable ed25519 key pair");
}

/** Parses an OpenSSH public key line; undefined when it is not one. */
export function parsePublicKey(line: string): { type: string; fingerprint: string } | undefined {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error || Array.isArray(parsed)) return undefined;
  if (parsed.isPrivateKey()) return undefined;
  const blob = parsed.getPublicSSH();
  return {
    type: parsed.type,
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

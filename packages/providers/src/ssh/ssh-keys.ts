import { createHash } from "node:crypto";
import { utils } from "ssh2";

export interface SshKeyPair {
  /** OpenSSH private key text (what `ssh -i` reads). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, for authorized_keys and marketplace key APIs. */
  publicKey: string;
}

/** A fresh ed25519 key pair, for the control plane's own access to machines. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  const pair = utils.generateKeyPairSync("ed25519", { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
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

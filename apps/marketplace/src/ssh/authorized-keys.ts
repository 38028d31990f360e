import { timingSafeEqual } from "node:crypto";
import type { ParsedKey, PublicKeyAuthContext } from "ssh2";
import { ssh2Utils } from "./ssh2-runtime";

/** Parses an OpenSSH public key line ("ssh-ed25519 AAAA… comment"); undefined when it is not one. */
export function parsePublicKey(line: string): ParsedKey | undefined {
  const parsed = ssh2Utils.parseKey(line.trim());
  if (parsed instanceof Error) return undefined;
  const key = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  if (!key || key.isPrivateKey()) return undefined;
  return key;
}

/**
 * Public-key authentication: the offered key must be one of `authorized` and, when the client
 * sent a signature, the signature must verify. Compared on the SSH wire form of the key.
 */
export function publicKeyAllowed(ctx: PublicKeyAuthContext, authorized: readonly string[]): boolean {
  for (const line of authorized) {
    const key = parsePublicKey(line);
    if (!key) continue;
    const wire = key.getPublicSSH();
    if (wire.length !== ctx.key.data.length || !timingSafeEqual(wire, ctx.key.data)) continue;
    if (!ctx.signature || !ctx.blob) return true;
    return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
  }
  return false;
}

import { createHash, randomBytes } from "node:crypto";

export type TokenKind = "session" | "api_key";

const PREFIX: Record<TokenKind, string> = { session: "dmt_", api_key: "dmk_" };

/** Opaque bearer token: a kind prefix and 256 random bits. Only its SHA-256 is stored. */
export function generateToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The part of a token shown in listings, enough to recognise it and useless to attack. */
export function displayPrefix(token: string): string {
  return token.slice(0, 10);
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;
}

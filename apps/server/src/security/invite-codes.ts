import { randomBytes } from "node:crypto";
import { displayPrefix, hashToken } from "./tokens";

/** A single-use invite: `dmi_` and 256 random bits. Stored only as its SHA-256, like tokens. */
export function generateInviteCode(): string {
  return "dmi_" + randomBytes(32).toString("base64url");
}

export const hashInviteCode = hashToken;
export const invitePrefix = displayPrefix;

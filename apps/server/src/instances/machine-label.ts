import { randomBytes } from "node:crypto";

/** Every machine we rent carries a label starting with this, from the create call on. */
export const OUR_LABEL_PREFIX = "dumont:";

/** Vast.ai labels are short free text; ours stays well under this (about 34 characters). */
export const MAX_LABEL_LENGTH = 64;

/**
 * A new installation id: 10 lowercase hex characters (40 random bits), enough to tell apart the
 * control planes sharing one marketplace account while keeping the label short.
 */
export function newInstallationId(): string {
  return randomBytes(5).toString("hex");
}

/** `dumont:<installation>:<instance id>`: whose machine it is, and which instance of theirs. */
export function machineLabel(installationId: string, instanceId: string): string {
  return `${OUR_LABEL_PREFIX}${installationId}:${instanceId}`;
}

export interface ParsedLabel {
  /** Null for labels written before installations existed (`dumont:<instance id>`). */
  installationId: string | null;
  resourceId: string;
}

/** Undefined when the label is not one of ours at all. */
export function parseMachineLabel(label: string | null | undefined): ParsedLabel | undefined {
  if (!label?.startsWith(OUR_LABEL_PREFIX)) return undefined;
  const rest = label.slice(OUR_LABEL_PREFIX.length);
  const colon = rest.indexOf(":");
  if (colon === -1) return { installationId: null, resourceId: rest };
  return { installationId: rest.slice(0, colon), resourceId: rest.slice(colon + 1) };
}

import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { z } from "zod";
import { DumontError } from "@dumont/core";

/** Where real service accounts get their tokens (a key file names it in `token_uri`). */
export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

// A key file is a few KB; anything far larger is not one (and is not read into memory whole).
const MAX_CREDENTIALS_BYTES = 256 * 1024;

const GcpServiceAccountSchema = z.looseObject({
  type: z.literal("service_account", { error: 'must be "service_account"' }),
  project_id: z.string().regex(/^[a-z][-a-z0-9.:]{4,100}[a-z0-9]$/, { error: "is not a GCP project id" }),
  private_key_id: z.string().min(1),
  private_key: z.string().includes("-----BEGIN PRIVATE KEY-----", { error: "is not a PKCS#8 PEM key" }),
  client_email: z.string().includes("@", { error: "is not a service account email" }),
  token_uri: z.url({ protocol: /^https?$/, error: "is not an http(s) URL" }).default(GOOGLE_TOKEN_URI),
});

/** The fields of a service-account key file we use; the private key never leaves this process. */
export type GcpServiceAccount = z.infer<typeof GcpServiceAccountSchema>;

/**
 * Reads a service-account key file's JSON. Errors name the field that is missing or wrong and
 * never carry the text itself: a key file's private key must not reach logs or API replies.
 */
export function parseGcpServiceAccount(json: string): GcpServiceAccount {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    // No `cause`, no parser message: V8's JSON errors quote the input around the fault.
    throw new DumontError({
      code: "VALIDATION_FAILED",
      message: "the GCP credentials are not valid JSON",
      hint: "Set GCP_CREDENTIALS to a service account's JSON key (the file, or its text).",
    });
  }
  const parsed = GcpServiceAccountSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.map(String).join(".") || "(top level)";
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    return missing ? `missing field ${field}` : `field ${field} ${issue.message}`;
  });
  throw new DumontError({
    code: "VALIDATION_FAILED",
    message: `the GCP credentials are not a service account key: ${problems.join("; ")}`,
    details: { fields: parsed.error.issues.map((issue) => issue.path.map(String).join(".")) },
    hint: "Create a JSON key for the service account (IAM → Service accounts → Keys) and use it unchanged.",
  });
}

/**
 * GCP_CREDENTIALS may hold the key file's JSON itself (a secret store's habit) or a path to the
 * file (a developer's). Returns the JSON text; does not validate it (parseGcpServiceAccount does).
 */
export function loadGcpCredentials(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("{")) return trimmed;
  if (!trimmed) {
    throw new DumontError({ code: "VALIDATION_FAILED", message: "GCP_CREDENTIALS is empty" });
  }
  const path = trimmed.startsWith("~/") ? `${homedir()}${trimmed.slice(1)}` : trimmed;
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error("not a file");
    size = stat.size;
  } catch {
    throw new DumontError({
      code: "VALIDATION_FAILED",
      message: `GCP_CREDENTIALS is neither JSON nor a readable file: ${path}`,
      hint: "Give the path of the service account's JSON key file, or the JSON itself.",
    });
  }
  if (size > MAX_CREDENTIALS_BYTES) {
    throw new DumontError({
      code: "VALIDATION_FAILED",
      message: `GCP_CREDENTIALS names a ${size}-byte file; a service account key is a few KB: ${path}`,
    });
  }
  return readFileSync(path, "utf8");
}

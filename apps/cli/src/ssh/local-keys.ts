import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError } from "../cli-runtime";

/** The public keys proposed for an account with none, in the order ssh itself tries them. */
export const PROPOSED_PUBLIC_KEYS = ["id_ed25519.pub", "id_rsa.pub", "id_ecdsa.pub"] as const;

/** `~/.ssh` of the user running the CLI (read only: the CLI never writes there). */
export function userSshDir(): string {
  return join(homedir(), ".ssh");
}

/** The first usual public key that exists, or undefined. */
export function proposedPublicKeyFile(): string | undefined {
  return PROPOSED_PUBLIC_KEYS.map((name) => join(userSshDir(), name)).find((file) => existsSync(file));
}

/** `~/…` for paths under the home directory, so printed commands stay short and copyable. */
export function tildePath(path: string): string {
  const home = homedir();
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** `SHA256:…` of an OpenSSH public key line, as `ssh-keygen -lf` and the server compute it. */
export function fingerprintOf(publicKeyLine: string): string | undefined {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob || !/^[A-Za-z0-9+/]+=*$/.test(blob)) return undefined;
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/** Reads a .pub file for `ssh-key add`, refusing a private key before it leaves the machine. */
export function readPublicKeyFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, "Pass the path of a .pub file.");
  }
  if (text.includes("PRIVATE KEY")) {
    throw new CliError(
      `${file} is a private key`,
      "Pass the public half (the .pub file); never share the private key.",
    );
  }
  return text.trim();
}

export interface LocalKeyPair {
  privateFile: string;
  fingerprint: string;
}

/** Key pairs in ~/.ssh: a readable .pub with its private half next to it. */
function localKeyPairs(): LocalKeyPair[] {
  let names: string[];
  try {
    names = readdirSync(userSshDir());
  } catch {
    return [];
  }
  // The usual names first, as ssh tries them; then any other pair.
  const ordered = [
    ...PROPOSED_PUBLIC_KEYS.filter((n) => names.includes(n)),
    ...names.filter((n) => n.endsWith(".pub") && !(PROPOSED_PUBLIC_KEYS as readonly string[]).includes(n)).sort(),
  ];
  const pairs: LocalKeyPair[] = [];
  for (const name of ordered) {
    const publicFile = join(userSshDir(), name);
    const privateFile = publicFile.slice(0, -".pub".length);
    if (!existsSync(privateFile)) continue;
    try {
      const fingerprint = fingerprintOf(readFileSync(publicFile, "utf8"));
      if (fingerprint) pairs.push({ privateFile, fingerprint });
    } catch {
      // An unreadable file is simply not a candidate.
    }
  }
  return pairs;
}

/** The private key file in ~/.ssh whose public half is on the account, if there is one. */
export function privateKeyFor(accountKeys: readonly { fingerprint: string }[]): string | undefined {
  const wanted = new Set(accountKeys.map((k) => k.fingerprint));
  return localKeyPairs().find((pair) => wanted.has(pair.fingerprint))?.privateFile;
}

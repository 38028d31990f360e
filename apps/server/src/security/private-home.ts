import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * DUMONT_HOME holds the secret key, the database and what came back from users' machines: it is
 * the control plane's alone. It is made 0700 and what sits at its top (the database and its WAL,
 * key files) 0600, including what an older version left 0755/0644. The jobs store sets its own
 * modes as it writes, and the simulated market's machine disks (`market/`) are left to the market.
 */
export function makeHomePrivate(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  for (const entry of readdirSync(home, { withFileTypes: true })) {
    const path = join(home, entry.name);
    if (entry.isDirectory()) chmodSync(path, 0o700);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}

/** Creates `file` empty and 0600 if it is missing, so a database opened on it inherits private modes. */
export function touchPrivate(file: string): void {
  try {
    lstatSync(file);
  } catch {
    closeSync(openSync(file, "a", 0o600));
  }
  chmodSync(file, 0o600);
}

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** What the CLI remembers per server URL (so a local and a remote server keep separate logins). */
export interface ServerProfile {
  token?: string | undefined;
  email?: string | undefined;
}

export interface CliConfig {
  servers: Record<string, ServerProfile>;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "dumont", "config.json");
}

export function readConfig(file = configPath()): CliConfig {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<CliConfig>;
    return { servers: parsed.servers ?? {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { servers: {} };
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Writes atomically with mode 0600: the file holds bearer tokens. */
export function writeConfig(config: CliConfig, file = configPath()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

export function updateProfile(apiUrl: string, change: (profile: ServerProfile) => ServerProfile): void {
  const config = readConfig();
  config.servers[apiUrl] = change(config.servers[apiUrl] ?? {});
  writeConfig(config);
}

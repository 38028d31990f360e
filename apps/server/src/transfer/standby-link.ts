import { RSYNC_SAFE_FLAGS, shellQuote, type SshEndpoint } from "@dumont/providers";
import { normalizeHostKey } from "./standby-host-key";

/**
 * One GPU machine paired with its standby, and the command lines that run on the GPU machine to
 * copy between them. The GPU machine runs rsync itself, so the data never passes through the
 * control plane; the control plane only writes the association's key and pinned host key there
 * and starts the copy over SSH. Every value that reaches a remote command line is checked here
 * and then shell-quoted.
 */
export interface StandbyLink {
  /** Lowercase letters, digits and dashes: it names the association's directory on the GPU machine. */
  associationId: string;
  /** How the control plane reaches the GPU machine (as root), with the instance's control key. */
  gpu: SshEndpoint;
  gpuPrivateKey: string;
  /** How the GPU machine reaches the standby (host name or IPv4 address, port, user root). */
  standby: SshEndpoint;
  /** The standby's pinned host key, `ssh-ed25519 AAAA…` (from `readHostKey` at first contact). */
  standbyHostKey: string;
  /** The association's own key (OpenSSH private key), authorized on the standby only. */
  syncPrivateKey: string;
}

/** The copied tree, on both machines. */
export const WORKSPACE = "/workspace";

/** Dumont's directory on a GPU machine (the user's machine: root's home). */
export const MACHINE_DUMONT_DIR = "/root/.dumont";
/** Where each association's files live, one directory per association. */
export const STANDBY_LINKS_DIR = `${MACHINE_DUMONT_DIR}/standby`;

export interface LinkFiles {
  dir: string;
  key: string;
  knownHosts: string;
  excludes: string;
}

const ASSOCIATION_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
// A name or IPv4 address: no colon (rsync would read `user@a:b:/path` wrongly), no leading dash
// (ssh would read an option), nothing a shell or rsync's -e splitting would notice.
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The link with its values checked and the host key normalized; a RangeError names the bad field. */
export function checkedLink(link: StandbyLink): StandbyLink {
  if (!ASSOCIATION_ID.test(link.associationId)) {
    throw new RangeError("associationId must be lowercase letters, digits and dashes (at most 64)");
  }
  checkEndpoint("gpu", link.gpu);
  checkEndpoint("standby", link.standby);
  if (!link.syncPrivateKey.includes("PRIVATE KEY-----")) {
    throw new RangeError("syncPrivateKey must be an OpenSSH private key");
  }
  return { ...link, standbyHostKey: normalizeHostKey(link.standbyHostKey) };
}

function checkEndpoint(name: string, endpoint: SshEndpoint): void {
  if (!HOST.test(endpoint.host)) throw new RangeError(`${name}.host must be a host name or an IPv4 address`);
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65_535) {
    throw new RangeError(`${name}.port must be an integer 1–65535`);
  }
  if (!USER.test(endpoint.user)) throw new RangeError(`${name}.user must be a plain user name`);
}

export function linkFiles(associationId: string): LinkFiles {
  const dir = `${STANDBY_LINKS_DIR}/${associationId}`;
  return { dir, key: `${dir}/key`, knownHosts: `${dir}/known_hosts`, excludes: `${dir}/excludes` };
}

/** known_hosts names a host on port 22 bare, any other port as `[host]:port`. */
export function knownHostsLine(standby: SshEndpoint, hostKey: string): string {
  const name = standby.port === 22 ? standby.host : `[${standby.host}]:${standby.port}`;
  return `${name} ${normalizeHostKey(hostKey)}`;
}

/**
 * The exclude file: every pattern as an explicit exclude rule (`- pattern`), so a pattern that
 * starts with `+ ` cannot turn into an include and one that starts with `#` is not a comment.
 */
export function excludeFileText(excludes: readonly string[]): string {
  if (excludes.length > 1_000) throw new RangeError("at most 1000 exclude patterns");
  for (const pattern of excludes) {
    // eslint-disable-next-line no-control-regex
    if (pattern.length === 0 || pattern.length > 200 || /[\u0000-\u001f\u007f]/.test(pattern)) {
      throw new RangeError(
        `exclude pattern ${JSON.stringify(pattern.slice(0, 40))} is empty, too long or has control characters`,
      );
    }
  }
  return excludes.map((pattern) => `- ${pattern}\n`).join("");
}

/**
 * The ssh that rsync runs on the GPU machine to reach the standby: the association's key only,
 * the pinned host key only (an unknown or changed key fails: StrictHostKeyChecking=yes), no
 * user configuration (`-F /dev/null`), no prompts, and a dead peer fails the copy within 15 s.
 * The paths and values are checked tokens without spaces, since rsync splits this on spaces.
 */
export function standbySshCommand(link: StandbyLink): string {
  const files = linkFiles(link.associationId);
  return [
    "ssh",
    "-F /dev/null",
    `-i ${files.key}`,
    `-p ${link.standby.port}`,
    "-o IdentitiesOnly=yes",
    "-o StrictHostKeyChecking=yes",
    `-o UserKnownHostsFile=${files.knownHosts}`,
    "-o GlobalKnownHostsFile=/dev/null",
    "-o UpdateHostKeys=no",
    "-o CheckHostIP=no",
    "-o BatchMode=yes",
    "-o LogLevel=ERROR",
    "-o ConnectTimeout=10",
    "-o ServerAliveInterval=5",
    "-o ServerAliveCountMax=3",
  ].join(" ");
}

export type SyncDirection = "to-standby" | "from-standby";

/**
 * What a mirror between the user's GPU and their standby keeps. Both ends are the user's own
 * machines and the control plane never reads the files, so modes are kept (a restored
 * `train.sh` stays executable) where copies to the control plane fix them (`RSYNC_SAFE_FLAGS`);
 * still no links, devices, FIFOs, owners or setuid/setgid bits cross.
 */
export const WORKSPACE_MIRROR_FLAGS: readonly string[] = [
  ...RSYNC_SAFE_FLAGS.filter((flag) => !flag.startsWith("--chmod=")),
  "--chmod=ug-s",
];

/**
 * The shell line that runs on the GPU machine: rsync with the mirror flags, the association's
 * exclude file and ssh, bounded by `timeout` so a copy cannot outlive the control plane's wait
 * (closing the SSH session alone does not always stop it).
 */
export function rsyncCommandLine(
  link: StandbyLink,
  direction: SyncDirection,
  extraFlags: readonly string[],
  timeoutMs: number,
): string {
  const files = linkFiles(link.associationId);
  const remote = `${link.standby.user}@${link.standby.host}:${WORKSPACE}/`;
  const [source, destination] = direction === "to-standby" ? [`${WORKSPACE}/`, remote] : [remote, `${WORKSPACE}/`];
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return [
    "timeout",
    "-k 10",
    String(seconds),
    "rsync",
    ...[...WORKSPACE_MIRROR_FLAGS, ...extraFlags, `--exclude-from=${files.excludes}`].map(shellQuote),
    "-e",
    shellQuote(standbySshCommand(link)),
    shellQuote(source),
    shellQuote(destination),
  ].join(" ");
}

import { DumontError, untrustedText } from "@dumont/core";
import { shellQuote, sshExec, type SshEndpoint } from "@dumont/providers";
import { ItemizedChanges, OutputTail, parseRsyncStats, RsyncOutputError, STATS_TAIL_CHARS } from "./rsync-stats";
import { normalizeHostKey } from "./standby-host-key";
import {
  checkedLink,
  excludeFileText,
  knownHostsLine,
  linkFiles,
  MACHINE_DUMONT_DIR,
  rsyncCommandLine,
  STANDBY_LINKS_DIR,
  WORKSPACE,
  type StandbyLink,
  type SyncDirection,
} from "./standby-link";

export { readHostKey } from "./standby-host-key";
export type { StandbyLink } from "./standby-link";

/**
 * Copies between a GPU machine and its standby. The copy runs on the GPU machine (rsync over
 * ssh, with the association's key and the standby's pinned host key), so data never relays
 * through the control plane, which only starts it over SSH and reads what comes back: the
 * stats, exit code and errors of a machine that runs the user's code as root, parsed strictly
 * and bounded (see rsync-stats.ts).
 */

export interface CopyOptions {
  /** rsync patterns (checked upstream by the API's schema; checked again here). */
  excludes: readonly string[];
  /** How long the copy may run on the machine (default 30 min); it is killed there after that. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SyncOptions extends CopyOptions {
  /**
   * The standby holds a copy worth keeping: then an empty source is refused, since a GPU
   * machine whose disk vanished would otherwise mirror nothing over it.
   */
  standbyHasFiles: boolean;
}

export interface SyncResult {
  /**
   * Bytes the source sent over the wire (rsync's "Total bytes sent" on a push, "Total bytes
   * received" on a pull, as the GPU machine counts them): contents of changed files plus rsync's
   * own file lists and checksums.
   */
  bytesSent: number;
  /** Regular files whose content was sent. */
  filesTransferred: number;
  /** Regular files in the source, after excludes. */
  filesTotal: number;
  durationMs: number;
}

export interface VerifyResult {
  identical: boolean;
  /** How many itemized differences rsync listed (files to send, to delete, with other attributes). */
  differenceCount: number;
  /** The first of them (`>fc.t...... path`), cleaned for display. */
  differences: string[];
}

const DEFAULT_COPY_TIMEOUT_MS = 30 * 60_000;
/** The SSH session outlives the machine's own `timeout` a little, so the exit code comes back. */
const SESSION_GRACE_MS = 30_000;
const SHORT_COMMAND_MS = 30_000;
/** Tools the GPU machine needs; `timeout` bounds each copy there. */
const REQUIRED_TOOLS = ["rsync", "ssh", "timeout"] as const;

/**
 * Writes the association's key and the standby's pinned host key on the GPU machine
 * (`/root/.dumont/standby/<id>/{key,known_hosts}`, 0600 in a 0700 directory). Idempotent; each
 * file is replaced whole. The key travels on stdin, never on a command line. Fails clearly
 * when the machine lacks rsync, ssh or timeout.
 */
export async function installSyncKey(link: StandbyLink, options: { timeoutMs?: number } = {}): Promise<void> {
  const checked = checkedLink(link);
  const files = linkFiles(checked.associationId);
  const knownHosts = knownHostsLine(checked.standby, checked.standbyHostKey);
  const q = shellQuote;
  const command = [
    `missing=''; for tool in ${REQUIRED_TOOLS.join(" ")}; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done`,
    `if [ -n "$missing" ]; then echo "missing:$missing"; exit 3; fi`,
    [
      "umask 077",
      `mkdir -p ${q(files.dir)}`,
      `chmod 700 ${q(MACHINE_DUMONT_DIR)} ${q(STANDBY_LINKS_DIR)} ${q(files.dir)}`,
      `cat > ${q(`${files.key}.tmp`)}`,
      `mv -f ${q(`${files.key}.tmp`)} ${q(files.key)}`,
      `printf '%s\\n' ${q(knownHosts)} > ${q(`${files.knownHosts}.tmp`)}`,
      `mv -f ${q(`${files.knownHosts}.tmp`)} ${q(files.knownHosts)}`,
      `chmod 600 ${q(files.key)} ${q(files.knownHosts)}`,
      "echo installed",
    ].join(" && "),
  ].join("\n");
  // OpenSSH refuses a key file whose last line has no newline.
  const key = checked.syncPrivateKey.endsWith("\n") ? checked.syncPrivateKey : `${checked.syncPrivateKey}\n`;
  const result = await sshExec({
    endpoint: checked.gpu,
    privateKey: checked.gpuPrivateKey,
    command,
    stdin: key,
    timeoutMs: options.timeoutMs ?? SHORT_COMMAND_MS,
  });
  const answer = result.stdout.trim();
  if (result.exitCode === 0 && answer === "installed") return;
  const missing = /^missing:((?: [a-z]+)+)$/.exec(answer);
  if (result.exitCode === 3 && missing) {
    const tools = (missing[1] as string).trim().split(" ");
    throw new DumontError({
      code: "MACHINE_UNREACHABLE",
      message: `the GPU machine ${checked.gpu.host}:${checked.gpu.port} lacks ${tools.join(", ")}, which a standby sync runs there`,
      details: { missing_tools: tools },
      hint: "Use an image with rsync and an OpenSSH client (apt-get install rsync openssh-client).",
    });
  }
  throw machineFailure(
    `installing the standby key on the GPU machine ${checked.gpu.host}:${checked.gpu.port}`,
    result.exitCode,
    result.stderr || answer,
  );
}

/**
 * Mirrors the GPU machine's /workspace onto the standby (`--delete`: files gone on the GPU go
 * on the standby too). Refused with SYNC_REFUSED, before anything runs, when /workspace is
 * missing, not a directory or unreadable, or holds no regular file while the standby has some.
 */
export async function syncToStandby(link: StandbyLink, options: SyncOptions): Promise<SyncResult> {
  const checked = checkedLink(link);
  // The check of /workspace runs in the copy's own session, right before rsync: one SSH
  // session per sync instead of two (a session costs about as much as a small sync).
  return copy(checked, "to-standby", options, { standbyHasFiles: options.standbyHasFiles });
}

/** First line a guarded copy prints: what /workspace is, before rsync runs (or instead of it). */
const SOURCE_MARK = "dumont-source:";
/** The guard's exit code when it refused to run rsync (rsync never uses it). */
const GUARD_REFUSED = 97;

/**
 * The shell that precedes a sync on the GPU: the association's files must be there, and
 * /workspace must be a readable directory holding a file when the standby holds some; it prints
 * its finding and exits GUARD_REFUSED instead of running rsync otherwise.
 */
function sourceGuard(link: StandbyLink, standbyHasFiles: boolean): string {
  const files = linkFiles(link.associationId);
  const w = shellQuote(WORKSPACE);
  return [
    `if [ ! -f ${shellQuote(files.key)} ] || [ ! -f ${shellQuote(files.knownHosts)} ]; then echo ${SOURCE_MARK}no_key; exit ${GUARD_REFUSED}; fi`,
    `if [ ! -e ${w} ]; then s=missing`,
    `elif [ ! -d ${w} ]; then s=not_a_directory`,
    `elif [ ! -r ${w} ] || [ ! -x ${w} ]; then s=unreadable`,
    // One regular file anywhere is enough: find stops there. A disk that fails mid-walk is unreadable.
    `elif ! first=$(find ${w} -type f -print -quit 2>/dev/null); then s=unreadable`,
    `elif [ -z "$first" ]; then s=no_files`,
    "else s=ok; fi",
    `echo "${SOURCE_MARK}$s"`,
    `case $s in ok) ;; no_files) ${standbyHasFiles ? `exit ${GUARD_REFUSED}` : ":"} ;; *) exit ${GUARD_REFUSED} ;; esac`,
    "",
  ].join("\n");
}

/** Reads the guard's line; anything else (a machine that printed something odd) is an error. */
function guardFinding(link: StandbyLink, line: string): SourceState | "no_key" {
  const states: readonly (SourceState | "no_key")[] = [
    "ok",
    "missing",
    "not_a_directory",
    "unreadable",
    "no_files",
    "no_key",
  ];
  const word = line.startsWith(SOURCE_MARK) ? line.slice(SOURCE_MARK.length).trim() : "";
  const state = states.find((s) => s === word);
  if (!state) {
    throw new DumontError({
      code: "MACHINE_UNREACHABLE",
      message: `the GPU machine ${link.gpu.host}:${link.gpu.port} answered ${JSON.stringify(untrustedText(line, 40))} when asked what /workspace is`,
    });
  }
  return state;
}

/** Mirrors the standby's /workspace onto the (new) GPU machine, with the same excludes. */
export async function restoreFromStandby(link: StandbyLink, options: CopyOptions): Promise<SyncResult> {
  const checked = checkedLink(link);
  await runWithSyncKey(checked, `mkdir -p ${shellQuote(WORKSPACE)}`, options.signal);
  return copy(checked, "from-standby", options);
}

/**
 * Compares the GPU machine's /workspace with the standby's by content (`--checksum`, a dry run
 * of the restore): identical when rsync would change nothing.
 */
export async function verifyRestore(link: StandbyLink, options: CopyOptions): Promise<VerifyResult> {
  const checked = checkedLink(link);
  await runWithSyncKey(checked, `mkdir -p ${shellQuote(WORKSPACE)}`, options.signal);
  const changes = new ItemizedChanges();
  const { exitCode, stderr } = await runRsync(
    checked,
    {
      direction: "from-standby",
      flags: ["--delete", "--dry-run", "--checksum", "--itemize-changes"],
      onStdout: (chunk) => changes.push(chunk),
    },
    options,
  );
  changes.end();
  if (exitCode !== 0) throw rsyncFailure(checked, "from-standby", exitCode, stderr);
  return { identical: changes.count === 0, differenceCount: changes.count, differences: changes.first };
}

/**
 * Counts the regular files under the standby's /workspace, from the control plane (ssh2). With
 * `hostKey`, any other host key fails the connection. The answer must be a plain integer.
 */
export async function countStandbyFiles(standby: SshEndpoint, privateKey: string, hostKey?: string): Promise<number> {
  const root = shellQuote(WORKSPACE);
  const result = await sshExec({
    endpoint: standby,
    privateKey,
    ...(hostKey === undefined ? {} : { hostKey: normalizeHostKey(hostKey) }),
    // One byte per file: the count is wc's, whatever the file names hold.
    command: `if [ -d ${root} ]; then find ${root} -type f -printf . | wc -c; else echo 0; fi`,
    timeoutMs: 120_000,
  });
  const answer = result.stdout.trim();
  if (result.exitCode !== 0 || !/^\d{1,15}$/.test(answer)) {
    throw machineFailure(
      `counting the standby's files at ${standby.host}:${standby.port} (it answered ${JSON.stringify(untrustedText(answer, 40))})`,
      result.exitCode,
      result.stderr,
    );
  }
  return Number(answer);
}

/** What /workspace is on the GPU machine, in the words `probeSource` accepts. */
export type SourceState = "ok" | "missing" | "not_a_directory" | "unreadable" | "no_files";

function refusalFor(source: SourceState, standbyHasFiles: boolean): string | null {
  switch (source) {
    case "ok":
      return null;
    case "missing":
      return "/workspace does not exist on the GPU machine";
    case "not_a_directory":
      return "/workspace on the GPU machine is not a directory";
    case "unreadable":
      return "/workspace on the GPU machine cannot be read";
    case "no_files":
      return standbyHasFiles ? "/workspace on the GPU machine holds no file, while the standby does" : null;
  }
}

/**
 * Runs `then` on the GPU machine once the association's key and known_hosts are there (a
 * clear error otherwise); returns its one-line answer.
 */
async function runWithSyncKey(link: StandbyLink, then: string, signal: AbortSignal | undefined): Promise<string> {
  const files = linkFiles(link.associationId);
  const result = await sshExec({
    endpoint: link.gpu,
    privateKey: link.gpuPrivateKey,
    command: `if [ ! -f ${shellQuote(files.key)} ] || [ ! -f ${shellQuote(files.knownHosts)} ]; then echo no_key; exit 0; fi\n${then}`,
    timeoutMs: SHORT_COMMAND_MS,
    signal,
  });
  const answer = result.stdout.trim();
  if (result.exitCode === 0 && answer === "no_key") {
    throw new DumontError({
      code: "MACHINE_UNREACHABLE",
      message: `the GPU machine ${link.gpu.host}:${link.gpu.port} has no key for standby association ${link.associationId}`,
      hint: "installSyncKey runs first on every GPU machine of the association.",
    });
  }
  if (result.exitCode !== 0) {
    throw machineFailure(`preparing the GPU machine ${link.gpu.host}:${link.gpu.port}`, result.exitCode, result.stderr);
  }
  return answer;
}

/** One copy with stats: writes the exclude file and runs rsync on the GPU machine, in one session. */
async function copy(
  link: StandbyLink,
  direction: SyncDirection,
  options: CopyOptions,
  guard?: { standbyHasFiles: boolean },
): Promise<SyncResult> {
  const started = Date.now();
  const tail = new OutputTail(STATS_TAIL_CHARS);
  // With a guard, stdout's first line is its finding (bounded); the rest is rsync's.
  let firstLine: string | undefined = guard ? "" : undefined;
  const guardLines: string[] = [];
  const onStdout = (chunk: string) => {
    if (firstLine === undefined) return tail.push(chunk);
    const newline = chunk.indexOf("\n");
    if (newline === -1) {
      if (firstLine.length < 200) firstLine += chunk;
      return;
    }
    firstLine = (firstLine + chunk.slice(0, newline)).slice(0, 200);
    const line = firstLine;
    firstLine = undefined;
    guardLines.push(line);
    tail.push(chunk.slice(newline + 1));
  };
  const { exitCode, stderr } = await runRsync(
    link,
    {
      direction,
      flags: ["--delete", "--stats"],
      onStdout,
      ...(guard ? { preamble: sourceGuard(link, guard.standbyHasFiles) } : {}),
    },
    options,
  );
  if (guard) {
    const finding = guardFinding(link, guardLines[0] ?? firstLine ?? "");
    if (finding === "no_key") {
      throw new DumontError({
        code: "MACHINE_UNREACHABLE",
        message: `the GPU machine ${link.gpu.host}:${link.gpu.port} has no key for standby association ${link.associationId}`,
        hint: "installSyncKey runs first on every GPU machine of the association.",
      });
    }
    const refusal = exitCode === GUARD_REFUSED ? refusalFor(finding, guard.standbyHasFiles) : null;
    if (refusal) {
      throw new DumontError({
        code: "SYNC_REFUSED",
        message: `the sync to the standby was refused: ${refusal}; the standby's copy was left as it was`,
        details: { workspace: finding, standby_has_files: guard.standbyHasFiles },
      });
    }
  }
  // 24: files vanished while rsync read them (the user's code keeps writing); the rest is copied.
  if (exitCode !== 0 && exitCode !== 24) throw rsyncFailure(link, direction, exitCode, stderr);
  let stats;
  try {
    stats = parseRsyncStats(tail.toString());
  } catch (error) {
    if (!(error instanceof RsyncOutputError)) throw error;
    throw new DumontError({
      code: "MACHINE_UNREACHABLE",
      message: `the copy ${describeDirection(link, direction)} ended, but its report cannot be read: ${error.message}`,
      cause: error,
    });
  }
  return {
    bytesSent: direction === "to-standby" ? stats.bytesSent : stats.bytesReceived,
    filesTransferred: stats.filesTransferred,
    filesTotal: stats.regularFiles,
    durationMs: Date.now() - started,
  };
}

interface RsyncRun {
  direction: SyncDirection;
  /** Flags beyond WORKSPACE_MIRROR_FLAGS and the exclude file. */
  flags: readonly string[];
  /** Sees everything rsync prints on stdout; keeping any of it is the caller's (bounded) choice. */
  onStdout: (chunk: string) => void;
  /** Shell run first in the same session (it may exit instead of letting rsync run). */
  preamble?: string;
}

async function runRsync(
  link: StandbyLink,
  { direction, flags, onStdout, preamble = "" }: RsyncRun,
  options: CopyOptions,
): Promise<{ exitCode: number; stderr: string }> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COPY_TIMEOUT_MS;
  const files = linkFiles(link.associationId);
  const q = shellQuote;
  const command = `${preamble}${[
    "umask 077",
    `cat > ${q(`${files.excludes}.tmp`)}`,
    `mv -f ${q(`${files.excludes}.tmp`)} ${q(files.excludes)}`,
    `exec ${rsyncCommandLine(link, direction, flags, timeoutMs)}`,
  ].join(" && ")}`;
  const stderr = new OutputTail(4_096);
  const result = await sshExec({
    endpoint: link.gpu,
    privateKey: link.gpuPrivateKey,
    command,
    stdin: excludeFileText(options.excludes),
    onStdout,
    onStderr: (chunk) => stderr.push(chunk),
    timeoutMs: timeoutMs + SESSION_GRACE_MS,
    signal: options.signal,
  });
  return { exitCode: result.exitCode, stderr: stderr.toString() };
}

/** What rsync's (and timeout's) exit codes mean, for the message. */
const RSYNC_EXITS: Readonly<Record<number, string>> = {
  1: "syntax or usage error",
  2: "protocol incompatibility",
  3: "errors selecting input/output files",
  5: "error starting the client-server protocol",
  10: "error in socket I/O",
  11: "error in file I/O",
  12: "error in the rsync protocol data stream",
  20: "killed by a signal",
  23: "partial transfer due to error",
  30: "timeout in data send/receive",
  124: "timed out",
  127: "rsync not found",
  137: "killed after timing out",
  255: "ssh to the standby failed",
};

function rsyncFailure(link: StandbyLink, direction: SyncDirection, exitCode: number, stderr: string): DumontError {
  const meaning = RSYNC_EXITS[exitCode];
  return machineFailure(
    `the copy ${describeDirection(link, direction)}${meaning ? ` (${meaning})` : ""}`,
    exitCode,
    stderr,
  );
}

function describeDirection(link: StandbyLink, direction: SyncDirection): string {
  const gpu = `GPU machine ${link.gpu.host}:${link.gpu.port}`;
  const standby = `standby ${link.standby.host}:${link.standby.port}`;
  return direction === "to-standby" ? `from the ${gpu} to the ${standby}` : `from the ${standby} to the ${gpu}`;
}

function machineFailure(what: string, exitCode: number, stderr: string): DumontError {
  const tail = untrustedText(stderr.trim().slice(-500), 500);
  return new DumontError({
    code: "MACHINE_UNREACHABLE",
    message: `${what} failed (exit ${exitCode})${tail ? `: ${tail}` : ""}`,
    details: { exit_code: exitCode, stderr_tail: tail },
  });
}

import { createHash } from "node:crypto";
import { lstatSync, readlinkSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { HOSTS_FILE, RESOLV_CONF_FILE, SIM_DIR_IN_SANDBOX } from "./sandbox-tools";

/**
 * What bubblewrap is told to build for one machine. Both stages run inside the machine's own
 * network namespace, made beforehand on the host (`sandbox-network.ts`): `nsenter --net` puts
 * stage 1 there, and the sandbox inherits it. Two stages, both bwrap:
 *
 * 1. The staging stage runs as root in a private mount namespace only. It exists because the
 *    sandbox's own bwrap runs as an unprivileged uid that cannot walk the path to the instance's
 *    disk (`DUMONT_HOME` is 0700): it binds the disk directories at a path that uid can reach, in
 *    this throw-away namespace only, then drops to that uid (`setpriv`) and starts stage 2.
 * 2. The sandbox: a new user namespace where the instance's uid looks like root but holds no
 *    capability (and cannot create further user namespaces), its own PID, IPC and UTS
 *    namespaces, and a root file system built from scratch on a tmpfs: the host's system
 *    directories read-only,
 *    the instance's disk at /workspace and its home at /root (read-write), the market's stand-in
 *    tools read-only at /root/.dumont-sim, a private /tmp, a new /proc and a minimal /dev. Nothing
 *    else of the host exists inside: no DUMONT_HOME, no other instance, no /home, no host /root.
 *    Its /etc/hosts is the market's (its own name, and `dumont-host` for the host's bridge).
 */

/** The fd on which the sandbox's init holds its lifeline to the market (see INIT). */
export const LIFELINE_FD = 4;

/** Where stage 1 shows the disk directories to stage 2 (inside stage 1's private tmpfs). */
const STAGING = "/tmp/dumont-sandbox";

/**
 * Every sandbox runs as a host uid of its own, so a per-uid process limit caps a whole machine: a
 * fork bomb inside stops at this many processes instead of taking the host's pids. Set before the
 * uid changes (on the init and on everything that enters), since limits are inherited.
 */
export const MAX_PROCESSES_PER_MACHINE = 4096;
const PROCESS_LIMIT = ["prlimit", `--nproc=${MAX_PROCESSES_PER_MACHINE}`, "--"];

/** The PATH that finds the system's tools (nsenter, setpriv, perl): never one a user can write to. */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Every sandbox runs as its own unprivileged host uid (and gid), derived from its disk directory:
 * stable across stop/start (the files on the disk keep their owner), different for practically
 * every instance of every market (a 1-in-10⁹ hash), and far from real users' uids and subuid
 * ranges. So one sandbox can neither signal another's processes nor pass as root (or as anyone
 * real) to anything it shares with the host.
 */
export function sandboxHostUid(dir: string): number {
  const hash = createHash("sha256").update(dir).digest().readUInt32BE(0);
  return 1_000_000_000 + (hash % 1_000_000_000);
}

/** Host paths the sandbox is built from (`dir` = `<dataDir>/instances/<id>`). */
export interface SandboxSources {
  dir: string;
  workspace: string;
  home: string;
  /** The market's own directory for this instance (stand-in tools, GPU state, onstart). */
  simDir: string;
}

/**
 * The initial process: PID 1 inside. It says "ready", then reaps orphans and watches the lifeline:
 * a socket whose other end only the market holds. When the market dies (even by SIGKILL) the
 * lifeline reads end-of-file and the init exits, so the kernel kills the whole sandbox. (bwrap's
 * `--die-with-parent` cannot do this across the two stages: the staging bwrap is root without
 * CAP_KILL by then, and the kernel does not deliver its parent-death signal to another uid.)
 */
const INIT = [
  "perl",
  "-e",
  [
    'use POSIX ":sys_wait_h";',
    '$0 = "sandbox-init"; $| = 1; print "ready\\n"; close STDOUT;',
    `open(my $lifeline, "<&=", ${LIFELINE_FD}) or die "sandbox-init: no lifeline: $!\\n";`,
    "sub reap { 1 while waitpid(-1, WNOHANG) > 0; }",
    "$SIG{CHLD} = \\&reap;",
    'my $bits = ""; vec($bits, fileno($lifeline), 1) = 1;',
    "while (1) {",
    "  my $ready = select(my $readable = $bits, undef, undef, 5); reap();",
    "  next if $ready < 1;",
    "  my $got = sysread($lifeline, my $byte, 1);",
    "  exit 0 if defined $got && $got == 0;",
    "}",
  ].join(" "),
];

/**
 * The full command line that starts a sandbox in the network namespace at `netnsPath` (nsenter,
 * then stage 1, which runs stage 2). Stage 2 writes `{"child-pid": <host pid of its PID 1>, …}` to
 * fd `infoFd`.
 */
export function sandboxArgv(sources: SandboxSources, uid: number, infoFd: number, netnsPath: string): string[] {
  const network = ["nsenter", `--net=${netnsPath}`, "--"];
  const staging = [
    "bwrap",
    "--dev-bind",
    "/",
    "/",
    "--tmpfs",
    "/tmp",
    "--perms",
    "0711",
    "--dir",
    STAGING,
    "--bind",
    sources.workspace,
    `${STAGING}/workspace`,
    "--bind",
    sources.home,
    `${STAGING}/home`,
    "--ro-bind",
    sources.simDir,
    `${STAGING}/sim`,
    "--die-with-parent",
    "--",
    ...PROCESS_LIMIT,
    "setpriv",
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    "--",
  ];
  const sandbox = [
    "bwrap",
    "--unshare-user",
    "--disable-userns",
    "--uid",
    "0",
    "--gid",
    "0",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--clearenv",
    "--setenv",
    "PATH",
    SYSTEM_PATH,
    "--hostname",
    basename(sources.dir),
    ...systemDirectories(),
    // The market's hosts file and resolver settings (written for this boot, read-only) over the host's.
    ...overEtcFile("/etc/hosts", `${STAGING}/sim/${HOSTS_FILE}`),
    ...overEtcFile("/etc/resolv.conf", `${STAGING}/sim/${RESOLV_CONF_FILE}`),
    "--bind",
    `${STAGING}/workspace`,
    "/workspace",
    "--bind",
    `${STAGING}/home`,
    "/root",
    "--ro-bind",
    `${STAGING}/sim`,
    SIM_DIR_IN_SANDBOX,
    "--tmpfs",
    "/tmp",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--chdir",
    "/workspace",
    "--cap-drop",
    "ALL",
    "--new-session",
    "--die-with-parent",
    // Our init is PID 1, so a `kill 1` from inside is ignored as on any machine.
    "--as-pid-1",
    "--info-fd",
    String(infoFd),
    "--",
    ...INIT,
  ];
  return [...network, ...staging, ...sandbox];
}

/**
 * The host's system, read-only: /usr and /etc, and /bin, /sbin, /lib* as this host has them
 * (symlinks into /usr on merged-/usr systems, directories elsewhere). Secrets in /etc stay
 * unreadable: their owner is host root, who does not exist inside.
 */
function systemDirectories(): string[] {
  const args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"];
  for (const name of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
    const path = `/${name}`;
    let stats;
    try {
      stats = lstatSync(path);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) args.push("--symlink", readlinkSync(path), path);
    else if (stats.isDirectory()) args.push("--ro-bind", path, path);
  }
  return args;
}

/**
 * Binds `source` over the host's `/etc` file `path`. Where that is a symlink (Ubuntu's
 * /etc/resolv.conf points into /run), the bind goes where it points, which bwrap creates on the
 * sandbox's tmpfs root; a file the host lacks is left absent.
 */
function overEtcFile(path: string, source: string): string[] {
  try {
    const stats = lstatSync(path);
    const target = stats.isSymbolicLink() ? resolve(dirname(path), readlinkSync(path)) : path;
    return ["--ro-bind", source, target];
  } catch {
    return [];
  }
}

/** The namespaces a command joins to run inside, in the order of the fds handed to `nsenter`. */
export const SANDBOX_NAMESPACES = ["user", "mnt", "pid", "ipc", "uts", "net"] as const;

/** nsenter's option for each namespace kind. */
const NSENTER_OPTION: Record<(typeof SANDBOX_NAMESPACES)[number], string> = {
  user: "--user",
  mnt: "--mount",
  pid: "--pid",
  ipc: "--ipc",
  uts: "--uts",
  net: "--net",
};

/** Environment variables for the command travel under this prefix, past nsenter and setpriv. */
export const SANDBOX_ENV_PREFIX = "DUMONT_SANDBOX_ENV_";

/**
 * Runs inside, as the sandbox's unprivileged root: closes the namespace fds, restores the
 * command's environment from the prefixed variables, changes to /workspace and execs the command.
 */
const UNWRAP = [
  "use POSIX ();",
  `POSIX::close($_) for 3 .. ${2 + SANDBOX_NAMESPACES.length};`,
  `my $prefix = "${SANDBOX_ENV_PREFIX}";`,
  "my %env;",
  "for my $name (keys %ENV) { $env{substr($name, length $prefix)} = $ENV{$name} if index($name, $prefix) == 0; }",
  "%ENV = %env;",
  'chdir "/workspace" or chdir "/";',
  'exec { $ARGV[0] } @ARGV or do { print STDERR "sandbox: $ARGV[0]: $!\\n"; exit 127; };',
].join(" ");

/**
 * The command line that runs `argv` inside a sandbox whose namespaces are open on fds 3, 4, …
 * (in `SANDBOX_NAMESPACES` order). nsenter runs as root on the host for a moment: it joins the
 * namespaces by fd (never by pid, which could be reused), switches to the sandbox's root (the
 * unprivileged host uid), and setpriv empties every capability set before anything of the user's
 * runs. Neither sees a variable the user chose: those are prefixed (an `LD_PRELOAD` from an SSH
 * client reaches the command, never nsenter), and argv carries no values, since any host user can
 * read a command line.
 */
export function enterArgv(argv: readonly string[]): string[] {
  return [
    "nsenter",
    ...SANDBOX_NAMESPACES.map((kind, i) => `${NSENTER_OPTION[kind]}=/proc/self/fd/${3 + i}`),
    "--",
    ...PROCESS_LIMIT,
    "setpriv",
    "--no-new-privs",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--bounding-set=-all",
    "--",
    "perl",
    "-e",
    UNWRAP,
    "--",
    ...argv,
  ];
}

import type { ServerChannel } from "ssh2";
import type { Logger } from "pino";
import { SYSTEM_PATH } from "../sandbox/bubblewrap-argv";
import type { BubblewrapSandbox } from "../sandbox/bubblewrap-sandbox";
import { signalGroup } from "./session-process";

/**
 * Connects to `host:port` and relays stdin → socket, socket → stdout, with half-closes; says
 * "connected" on stderr once the connection is up. Runs inside the sandbox, as its root.
 */
const RELAY = [
  "use IO::Socket::IP; use IO::Select; use Socket qw(SOCK_STREAM);",
  "my $s = IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1], Type => SOCK_STREAM, Timeout => 10)",
  '  or do { print STDERR "relay: $@\\n"; exit 1 };',
  'syswrite(STDERR, "connected\\n");',
  "my $sel = IO::Select->new(\\*STDIN, $s); my ($up, $down) = (1, 1);",
  "sub put { my ($fh, $buf) = @_; while (length $buf) { my $n = syswrite($fh, $buf); return 0 unless $n; substr($buf, 0, $n) = ''; } 1 }",
  "while ($up || $down) {",
  "  for my $fh ($sel->can_read) {",
  "    my $n = sysread($fh, my $buf, 65536);",
  "    if (fileno($fh) == fileno($s)) {",
  "      if (!$n) { $sel->remove($s); $down = 0; close STDOUT; exit 0 unless $up; next; }",
  "      exit 0 unless put(\\*STDOUT, $buf);",
  "    } else {",
  "      if (!$n) { $sel->remove(\\*STDIN); $up = 0; shutdown($s, 1); next; }",
  "      exit 0 unless put($s, $buf);",
  "    }",
  "  }",
  "}",
].join(" ");

/**
 * `ssh -L` (direct-tcpip): the connection is made from inside the machine, in its own network
 * namespace, exactly as from a process of the machine: `localhost` is the machine's own loopback,
 * and nothing on the host's 127.0.0.1 can be reached through the tunnel.
 */
export function forwardInSandbox(
  sandbox: BubblewrapSandbox,
  destination: { host: string; port: number },
  answer: { accept: () => ServerChannel; reject: () => void },
  logger: Logger,
): void {
  const { accept, reject } = answer;
  const child = sandbox.spawn(["perl", "-e", RELAY, "--", destination.host, String(destination.port)], {
    PATH: SYSTEM_PATH,
  });
  let channel: ServerChannel | undefined;
  let stderr = "";
  child.once("error", () => {
    if (!channel) reject();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (channel) return;
    stderr += chunk.toString();
    // The relay says one short line; more is not ours to keep.
    if (stderr.length > 4096) {
      signalGroup(child, "SIGKILL");
      return;
    }
    if (!stderr.includes("connected\n")) return;
    const opened = accept();
    channel = opened;
    opened.on("error", (error: Error) => logger.debug({ err: error }, "ssh forward channel error"));
    // Only while the relay runs: after it exits its pid (and group id) may belong to someone else.
    opened.on("close", () => {
      if (child.exitCode === null && child.signalCode === null) signalGroup(child, "SIGKILL");
    });
    if (child.stdin) {
      child.stdin.on("error", () => undefined);
      opened.pipe(child.stdin);
    }
    child.stdout?.pipe(opened);
  });
  child.once("close", () => {
    if (!channel) {
      logger.debug({ destination, stderr: stderr.trim() }, "ssh forward refused");
      reject();
    }
  });
}

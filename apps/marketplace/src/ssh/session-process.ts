import type { ChildProcess } from "node:child_process";
import type { ServerChannel } from "ssh2";
import type { Logger } from "pino";

/**
 * Connects a sandbox process to an SSH channel: channel data → stdin (EOF closes stdin),
 * stdout → channel, stderr → extended data. When the process ends, everything it wrote is
 * flushed into the channel before `exit-status` (or `exit-signal`) and the close, so rsync and
 * scp see every byte and the right exit code.
 */
export function bindProcessToChannel(
  channel: ServerChannel,
  child: ChildProcess,
  options: { hangUpOnClose: boolean; logger: Logger },
): void {
  let channelClosed = false;
  let running = true;
  channel.on("close", () => {
    channelClosed = true;
    child.stdin?.destroy();
    // With a terminal, OpenSSH hangs up the session's processes when the connection goes; without
    // one, they keep running (a dropped `nohup` job survives, as on a real machine).
    if (running && options.hangUpOnClose) signalGroup(child, "SIGHUP");
  });
  channel.on("error", (error: Error) => options.logger.debug({ err: error }, "ssh channel error"));

  if (child.stdin) {
    child.stdin.on("error", () => undefined);
    channel.pipe(child.stdin);
  }
  child.stdout?.pipe(channel, { end: false });
  child.stderr?.pipe(channel.stderr, { end: false });

  // "exit" comes before "close" (which waits for the pipes): from then on the pid may be reused,
  // so nothing is signalled any more.
  child.once("exit", () => {
    running = false;
  });
  child.once("error", (error) => {
    running = false;
    if (channelClosed) return;
    channel.stderr.write(`sandbox: ${error.message}\n`);
    channel.exit(127);
    channel.end();
  });
  child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
    running = false;
    if (channelClosed) return;
    void flush(channel).then(() => {
      if (channelClosed) return;
      if (signal) channel.exit(signal.replace(/^SIG/, ""), false, "");
      else channel.exit(code ?? 0);
      channel.end();
    });
  });
}

/** Sends a signal to the process and to everything in its process group. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Resolves once every chunk written so far to the channel and its stderr has gone out (a
 * zero-length write completes only after the writes queued before it), or the channel closed.
 */
async function flush(channel: ServerChannel): Promise<void> {
  const closed = new Promise<void>((resolve) => channel.once("close", () => resolve()));
  const drained = Promise.all([
    new Promise<void>((resolve) => channel.write(Buffer.alloc(0), () => resolve())),
    new Promise<void>((resolve) => channel.stderr.write(Buffer.alloc(0), () => resolve())),
  ]).then(() => undefined);
  await Promise.race([drained, closed]);
}

import { createServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Connection, Server, ServerChannel, Session } from "ssh2";
import type { Logger } from "pino";
import type { BubblewrapSandbox } from "../sandbox/bubblewrap-sandbox";
import { publicKeyAllowed } from "./authorized-keys";
import { bindProcessToChannel } from "./session-process";
import { Ssh2Server } from "./ssh2-runtime";
import { forwardInSandbox } from "./tcpip-forward";

export interface InstanceSshOptions {
  host: string;
  /** 0 or absent: a random free port (a GCP VM's SSH coming back up asks for its old one). */
  port?: number;
  /** OpenSSH-format private host key. */
  hostKey: string;
  /** Read at every login, so keys attached later work at once. */
  authorizedKeys: () => readonly string[];
  sandbox: BubblewrapSandbox;
  /** The sandbox environment (Vast's variables, the create's env, PATH with the stand-in tools). */
  environment: () => Readonly<Record<string, string>>;
  /** Host path of sftp-server, or undefined when it is not installed. */
  sftpServer: string | undefined;
  logger: Logger;
}

/** A dropped connection gets this long to say goodbye before its socket is destroyed. */
const DROP_GRACE_MS = 200;

interface SessionState {
  env: Record<string, string>;
  pty: { term: string; rows: number; cols: number } | undefined;
}

/**
 * The SSH daemon of one running instance: 127.0.0.1, a random port, ed25519 host key, user root
 * with public-key authentication only. exec, shell, env, pty (accepted; a terminal is given with
 * `script`), the sftp subsystem (OpenSSH's sftp-server run inside the sandbox, which is what
 * `scp` and `sftp` use) and direct-tcpip forwarding (`ssh -L`, connected from inside the machine).
 */
export class InstanceSshServer {
  private closed = false;

  private constructor(
    private readonly tcp: NetServer,
    readonly port: number,
    private readonly connections: Set<Connection>,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(options: InstanceSshOptions): Promise<InstanceSshServer> {
    const connections = new Set<Connection>();
    const sockets = new Set<Socket>();
    const ssh: Server = new Ssh2Server({ hostKeys: [options.hostKey], ident: "DumontMarketSSH_1.0" }, (client) => {
      connections.add(client);
      client.on("close", () => connections.delete(client));
      client.on("error", (error: Error) => options.logger.debug({ err: error }, "ssh client error"));
      handleClient(client, options);
    });
    // Our own TCP listener hands sockets to ssh2, so a drop or a close can cut them for sure
    // (a graceful SSH disconnect alone waits for the client's cooperation).
    const tcp = createServer((socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
      ssh.injectSocket(socket);
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(options.port ?? 0, options.host, () => {
        tcp.off("error", reject);
        resolve();
      });
    });
    tcp.on("error", (error: Error) => options.logger.warn({ err: error }, "ssh listener error"));
    const address = tcp.address() as AddressInfo;
    return new InstanceSshServer(tcp, address.port, connections, sockets);
  }

  /** Cuts every open connection (the "SSH drop" fault); the server keeps accepting new ones. */
  dropConnections(): number {
    const live = [...this.sockets];
    for (const client of this.connections) client.end();
    const timer = setTimeout(() => {
      for (const socket of live) socket.destroy();
    }, DROP_GRACE_MS);
    timer.unref();
    return live.length;
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const client of this.connections) client.end();
    for (const socket of this.sockets) socket.destroy();
    await closing;
  }
}

function handleClient(client: Connection, options: InstanceSshOptions): void {
  client.on("authentication", (ctx) => {
    if (ctx.username !== "root") {
      ctx.reject(["publickey"]);
      return;
    }
    if (ctx.method === "publickey" && publicKeyAllowed(ctx, options.authorizedKeys())) {
      ctx.accept();
      return;
    }
    ctx.reject(["publickey"]);
  });
  client.on("ready", () => {
    client.on("session", (accept) => {
      handleSession(accept(), options);
    });
    client.on("tcpip", (accept, reject, info) => {
      forwardInSandbox(options.sandbox, { host: info.destIP, port: info.destPort }, { accept, reject }, options.logger);
    });
  });
}

const MAX_ENV_VARS = 256;
const MAX_ENV_BYTES = 64 * 1024;

function handleSession(session: Session, options: InstanceSshOptions): void {
  const state: SessionState = { env: {}, pty: undefined };
  // A client may send as many env requests as it likes: keep a bounded few, refuse the rest.
  let envBytes = 0;
  session.on("env", (accept, reject, info) => {
    envBytes += info.key.length + info.val.length;
    if (Object.keys(state.env).length >= MAX_ENV_VARS || envBytes > MAX_ENV_BYTES) {
      reject?.();
      return;
    }
    state.env[info.key] = info.val;
    accept?.();
  });
  session.on("pty", (accept, _reject, info) => {
    state.pty = { term: info.term || "xterm", rows: info.rows || 24, cols: info.cols || 80 };
    accept?.();
  });
  session.on("window-change", (accept) => accept?.());
  session.on("signal", (accept) => accept?.());
  session.on("auth-agent", (_accept, reject) => reject?.());
  session.on("x11", (_accept, reject) => reject?.());
  session.on("exec", (accept, _reject, info) => {
    runInChannel(accept(), info.command, state, options);
  });
  session.on("shell", (accept) => {
    runInChannel(accept(), undefined, state, options);
  });
  session.on("subsystem", (accept, reject, info) => {
    if (info.name !== "sftp" || !options.sftpServer) {
      reject?.();
      return;
    }
    const channel = accept();
    const child = options.sandbox.spawn([options.sftpServer], sessionEnv(state, options));
    bindProcessToChannel(channel, child, { hangUpOnClose: true, logger: options.logger });
  });
}

/** Runs a command (or a login shell when `command` is undefined) in the sandbox on this channel. */
function runInChannel(
  channel: ServerChannel,
  command: string | undefined,
  state: SessionState,
  options: InstanceSshOptions,
): void {
  const env = sessionEnv(state, options);
  const shell = env.SHELL ?? "/bin/sh";
  let argv: string[];
  if (state.pty) {
    // `script` gives the command a real terminal inside the sandbox (echo, job control, Ctrl-C).
    const sizeAndRun = `stty rows ${state.pty.rows} cols ${state.pty.cols} 2>/dev/null; ${command ?? `exec ${shell} -il`}`;
    argv = ["script", "-qfec", sizeAndRun, "/dev/null"];
  } else {
    argv = command === undefined ? [shell, "-i"] : [shell, "-c", command];
  }
  const child = options.sandbox.spawn(argv, env);
  bindProcessToChannel(channel, child, { hangUpOnClose: state.pty !== undefined, logger: options.logger });
}

function sessionEnv(state: SessionState, options: InstanceSshOptions): Record<string, string> {
  const env: Record<string, string> = { ...options.environment(), ...state.env };
  if (state.pty) env.TERM = state.pty.term;
  return env;
}

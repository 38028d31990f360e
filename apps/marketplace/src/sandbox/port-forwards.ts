import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A running instance's `-p N:N` ports, as Docker publishes a container's on Vast: a listener per
 * container port on the market's host (a random port each boot) that forwards every connection
 * to that port on the machine's own address. So `public_ipaddr:<HostPort>` reaches a service
 * inside, as on Vast, while the machine itself stays in its own network namespace. (A service
 * must listen on 0.0.0.0 inside, as in a container; one on the machine's 127.0.0.1 is reached
 * with `ssh -L`.)
 */
export class PortForwards {
  private constructor(
    private readonly servers: Map<number, { server: Server; hostPort: number }>,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(listenHost: string, machineAddress: string, ports: readonly number[]): Promise<PortForwards> {
    const servers = new Map<number, { server: Server; hostPort: number }>();
    const sockets = new Set<Socket>();
    const forwards = new PortForwards(servers, sockets);
    try {
      for (const port of new Set(ports)) {
        const server = createServer((socket) => {
          const upstream = connect(port, machineAddress);
          for (const s of [socket, upstream]) {
            sockets.add(s);
            s.once("close", () => sockets.delete(s));
          }
          socket.on("error", () => upstream.destroy());
          upstream.on("error", () => socket.destroy());
          socket.pipe(upstream).pipe(socket);
        });
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, listenHost, () => {
            server.off("error", reject);
            resolve();
          });
        });
        server.on("error", () => undefined);
        servers.set(port, { server, hostPort: (server.address() as AddressInfo).port });
      }
    } catch (error) {
      await forwards.close();
      throw error;
    }
    return forwards;
  }

  /** The host port that forwards to `containerPort`, if it is published. */
  hostPort(containerPort: number): number | undefined {
    return this.servers.get(containerPort)?.hostPort;
  }

  /** Stops listening and cuts every forwarded connection. */
  async close(): Promise<void> {
    const closing = [...this.servers.values()].map(
      ({ server }) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    this.servers.clear();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
  }
}

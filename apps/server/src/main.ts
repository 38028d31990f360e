import { loadConfig, type ServerConfig } from "./config";
import { createServer } from "./create-server";

export interface StartOptions {
  host: string;
  port: number;
}

/**
 * `dumont server`: opens the database, starts controllers and HTTP, and stops cleanly on
 * SIGINT/SIGTERM (leases released, so another replica takes over at once).
 */
export async function startServer(options: StartOptions): Promise<void> {
  const config = loadConfig();
  const server = await createServer({ config });
  const { logger, database } = server.context;
  await server.app.listen({ host: options.host, port: options.port });
  const address = server.app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  logger.info(
    {
      url: `http://${options.host}:${port}`,
      home: config.home,
      database: database.dialect.description,
      replica: server.context.replicaId,
    },
    "dumont server ready",
  );
  // One plain line for the person who ran `npm start`; the JSON log above is for machines.
  process.stderr.write(readyLine(`http://${options.host}:${port}`, database.dialect.description, config) + "\n");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "clean stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/** What a person needs to know at start: where, which database, and whether the market is real. */
export function readyLine(url: string, database: string, config: Pick<ServerConfig, "market">): string {
  const market =
    config.market === "embedded"
      ? "market SIMULATED (machines are sandboxes on this computer: no real GPUs, no money; set VAST_API_KEY for Vast.ai)"
      : config.market === "vast"
        ? "market Vast.ai (real machines, real money)"
        : "no server-wide market (users bring their own Vast.ai key)";
  return `dumont server ready at ${url} · database ${database} · ${market}`;
}

export { createServer } from "./create-server";
export { loadConfig } from "./config";

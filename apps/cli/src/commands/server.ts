import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../cli-runtime";

export function registerServer(program: Command, cli: CliRuntime): void {
  program
    .command("server")
    .description("start the control plane (HTTP API + controllers) on this machine")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on", (v) => parsePort(v), 8766)
    .action(
      cli.action(async (options: { host: string; port: number }) => {
        // The server bundle sits beside the CLI bundle and is only loaded for this command.
        const server = await import("@dumont/server");
        await server.startServer({ host: options.host, port: options.port });
      }),
    );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`expected a port number 0-65535, got ${value}`);
  return port;
}

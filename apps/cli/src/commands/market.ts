import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../cli-runtime";

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got ${value}`);
  return n;
}

export function registerMarket(program: Command, cli: CliRuntime): void {
  program
    .command("market")
    .description("run the local SIMULATED GPU marketplace (Vast.ai-compatible API) on its own")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port", number, 8800)
    .option("--seed <n>", "market seed (same seed, same market)", number, 1)
    .option("--profile <profile>", "healthy | flaky | hostile", "healthy")
    .option("--time-scale <f>", "compress simulated time (0.01 = 100x faster boots)", number, 1)
    .option("--api-key <key>", "the default account's key (generated and printed when omitted)")
    .option("--data-dir <dir>", "where machine workspaces live")
    .action(
      cli.action(
        async (o: {
          host: string;
          port: number;
          seed: number;
          profile: string;
          timeScale: number;
          apiKey?: string;
          dataDir?: string;
        }) => {
          if (!["healthy", "flaky", "hostile"].includes(o.profile)) {
            throw new InvalidArgumentError(`--profile must be healthy, flaky or hostile, not ${o.profile}`);
          }
          const server = await import("@dumont/server");
          await server.startStandaloneMarket({
            host: o.host,
            port: o.port,
            seed: o.seed,
            profile: o.profile as "healthy" | "flaky" | "hostile",
            timeScale: o.timeScale,
            apiKey: o.apiKey,
            dataDir: o.dataDir,
          });
        },
      ),
    );
}

import { resolve } from "node:path";
import { row, timeCommands } from "./measure";

/**
 * Cold start of `dumont --help` against the cost of starting node itself, in the same run.
 * NODE_EXTRA_CA_CERTS is unset as on users' machines (it adds ~85 ms to every start here).
 */
export function benchCli(): void {
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: "" };
  const bin = resolve(import.meta.dirname, "../../bin/dumont.cjs");
  const runs = Number(process.env.BENCH_RUNS ?? 30);
  const [baseline, help, subHelp] = timeCommands(
    [
      [process.execPath, "-e", "0"],
      [process.execPath, bin, "--help"],
      [process.execPath, bin, "auth", "--help"],
    ],
    { runs, warmup: 3, env },
  );
  if (!baseline || !help || !subHelp) throw new Error("missing measurements");
  console.log("cli cold start");
  console.log(row("node -e 0 (baseline)", baseline));
  console.log(row("dumont --help", help, baseline));
  console.log(row("dumont auth --help", subHelp, baseline));
  console.log(`dumont --help overhead over node itself: ${(help.median - baseline.median).toFixed(1)} ms`);
}

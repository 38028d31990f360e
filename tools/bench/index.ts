// `npm run bench [-- name…]`: runs the named benchmarks (all by default). Each prints its own
// baseline measured in the same run, and ratios against it.
import { benchCli } from "./cli-bench";
import { benchApi } from "./api-bench";
import { benchMarket } from "./market-bench";
import { benchWizard } from "./wizard-bench";
import { benchJobs } from "./jobs-bench";
import { benchFailover } from "./failover-bench";
import { benchSync } from "./sync-bench";

const BENCHMARKS: Record<string, () => void | Promise<void>> = {
  cli: benchCli,
  api: benchApi,
  market: benchMarket,
  wizard: benchWizard,
  jobs: benchJobs,
  failover: benchFailover,
  sync: benchSync,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${Object.keys(BENCHMARKS).join(", ")}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  await BENCHMARKS[name]?.();
  console.log();
}

// `npm run test:live`: the paid suite against real Vast.ai. Without VAST_API_KEY it says so and
// exits 0, so it is safe to run anywhere.
import { spawnSync } from "node:child_process";

if (!process.env.VAST_API_KEY) {
  console.log("test:live skipped: set VAST_API_KEY to rent a real machine (costs a few cents).");
  process.exit(0);
}
const result = spawnSync(
  "npx",
  ["vitest", "run", "--dir", "packages/providers/live", "--config", "vitest.live.config.ts"],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);

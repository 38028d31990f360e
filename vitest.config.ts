import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make the process-spawning tests fight for CPU.
    maxWorkers: 2,
    env: { NODE_EXTRA_CA_CERTS: "" },
  },
});

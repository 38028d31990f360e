import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["packages/providers/live/**/*.test.ts"], testTimeout: 180_000 },
});

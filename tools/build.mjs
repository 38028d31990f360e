// Bundles the CLI and the server into dist/ with esbuild (CommonJS: commander's ESM bundle breaks
// on dynamic require). The CLI loads dist/server.cjs only for `dumont server`, so `dumont --help`
// parses a small file.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: "linked",
  logLevel: "warning",
  define: { __DUMONT_VERSION__: JSON.stringify(version) },
  // Native addons and optional drivers stay in node_modules.
  external: ["better-sqlite3", "pg-native", "cpu-features", "ssh2"],
};

/**
 * Resolves the heavy workspace packages to sibling bundles instead of inlining them into the CLI:
 * the server (fastify, kysely…) and the API client (zod schemas) load only when a command runs.
 */
const siblingBundles = {
  name: "sibling-bundles",
  setup(b) {
    b.onResolve({ filter: /^@dumont\/server$/ }, () => ({ path: "./server.cjs", external: true }));
    b.onResolve({ filter: /^@dumont\/api-client$/ }, () => ({ path: "./api-client.cjs", external: true }));
  },
};

await Promise.all([
  build({ ...common, entryPoints: ["apps/server/src/index.ts"], outfile: "dist/server.cjs" }),
  build({ ...common, entryPoints: ["packages/api-client/src/index.ts"], outfile: "dist/api-client.cjs" }),
  build({ ...common, entryPoints: ["apps/cli/src/entry.ts"], outfile: "dist/cli.cjs", plugins: [siblingBundles] }),
]);

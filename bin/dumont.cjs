#!/usr/bin/env node
"use strict";
// Entry point of the `dumont` command: runs the bundled CLI (built by `npm run build`).
try {
  require("../dist/cli.cjs");
} catch (error) {
  if (error && error.code === "MODULE_NOT_FOUND" && String(error.message).includes("dist/cli.cjs")) {
    process.stderr.write("dumont is not built yet: run `npm run build` in the repository first.\n");
    process.exit(1);
  }
  throw error;
}

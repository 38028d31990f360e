/** @module Test fixtures: databases of both dialects, in-process and real-process servers. */
export * from "./dialects";
export * from "./test-server";
export * from "./server-process";
export * from "./run-cli";

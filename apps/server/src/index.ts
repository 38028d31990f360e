/** @module The control plane: HTTP API, controllers and their wiring. */
export * from "./main";
export type { Server } from "./create-server";
export type { ServerConfig } from "./config";
export { startStandaloneMarket, type StandaloneMarketOptions } from "./market/standalone-market";
export { createAccountOnHost, type HostAccountResult } from "./admin/host-accounts";

/** @module A local GPU marketplace that speaks Vast.ai's REST API, with real SSH sandboxes. */
export { startMarketplace, type MarketplaceOptions, type RunningMarketplace } from "./marketplace";
export type { GcpEndpoints } from "./gcp/gcp-emulation";
export { PROFILES, isProfile, type Profile } from "./profiles";
export { MACHINE_HOST_NAME, MACHINE_REACHABLE_LISTEN_HOST, machineReachableHost } from "./sandbox/sandbox-network";

/** @module A local GPU marketplace that speaks Vast.ai's REST API, with real SSH sandboxes. */
export { startMarketplace, type MarketplaceOptions, type RunningMarketplace } from "./marketplace";
export { PROFILES, isProfile, type Profile } from "./profiles";

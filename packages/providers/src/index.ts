/** @module GPU marketplaces behind one interface, and SSH/rsync access to rented machines. */
export * from "./provider";
export * from "./regions";
export * from "./vast/vast-http";
export * from "./vast/vast-provider";
export * from "./ssh/ssh-keys";
export * from "./ssh/ssh-session";
export * from "./ssh/rsync";
export * from "./ssh/gpu-metrics";
export * from "./standby/standby-provider";
export * from "./gcp/gcp-credentials";
export * from "./gcp/gcp-compute-provider";
export * from "./gcp/gcp-instances";
export * from "./gcp/gcp-prices";

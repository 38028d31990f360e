/** @module Domain of Dumont Cloud: error codes, state machines, and the API contract. */
export * from "./errors/error-codes";
export * from "./errors/dumont-error";
export * from "./state-machine";
export * from "./canary/canary-machine";
export * from "./instance/instance-machine";
export * from "./api/index";
export * from "./market/regions";
export * from "./market/gpu-names";
export * from "./market/provider-names";
export * from "./history/reliability";
export * from "./billing/machine-cost";
export * from "./wizard/deployment-machine";
export * from "./job/job-machine";
export * from "./standby/standby-machine";
export * from "./trust/remote-path";
export * from "./trust/machine-values";

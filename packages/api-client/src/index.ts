/** @module Typed HTTP client for the Dumont Cloud API. */
export * from "./api-error";
export * from "./dumont-client";

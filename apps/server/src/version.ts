/** Replaced at bundle time by tools/build.mjs; "dev" when running from sources. */
declare const __DUMONT_VERSION__: string | undefined;

export const SERVER_VERSION: string = typeof __DUMONT_VERSION__ === "string" ? __DUMONT_VERSION__ : "0.1.0-dev";

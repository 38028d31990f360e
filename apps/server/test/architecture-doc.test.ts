import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  CANARY_MACHINE,
  DEPLOYMENT_MACHINE,
  ERROR_CODES,
  INSTANCE_MACHINE,
  JOB_MACHINE,
  toMermaid,
} from "@dumont/core";

/** ARCHITECTURE.md must stay true: its diagrams and error table are checked against the code. */
describe("ARCHITECTURE.md", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "../../../ARCHITECTURE.md"), "utf8");

  it.each([
    ["canary", toMermaid(CANARY_MACHINE)],
    ["instance", toMermaid(INSTANCE_MACHINE)],
    ["deployment", toMermaid(DEPLOYMENT_MACHINE)],
    ["job", toMermaid(JOB_MACHINE)],
  ])("shows the %s state machine as declared", (_name, diagram) => {
    expect(doc).toContain(diagram);
  });

  it("lists every error code with its HTTP status, and no others", () => {
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
  });
});

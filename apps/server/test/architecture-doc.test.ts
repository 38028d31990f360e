import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CANARY_MACHINE, ERROR_CODES, toMermaid } from "@dumont/core";

/** ARCHITECTURE.md must stay true: its diagrams and error table are checked against the code. */
describe("ARCHITECTURE.md", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "../../../ARCHITECTURE.md"), "utf8");

  it.each([CANARY_MACHINE])("shows the $name state machine as declared", (machine) => {
    expect(doc).toContain(toMermaid(machine));
  });

  it("lists every error code with its HTTP status, and no others", () => {
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
  });
});

import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { resolve, sep } from "node:path";
import {
  CANARY_MACHINE,
  DEPLOYMENT_MACHINE,
  ERROR_CODES,
  INSTANCE_MACHINE,
  JOB_MACHINE,
  STANDBY_MACHINE,
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
    ["standby", toMermaid(STANDBY_MACHINE)],
  ])("shows the %s state machine as declared", (_name, diagram) => {
    expect(doc).toContain(diagram);
  });

  it("lists every error code with its HTTP status, and no others", () => {
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
  });
});

/**
 * One module moves data between machines and the control plane (`apps/server/src/transfer`):
 * nothing else in the server may call rsync, so no copy can skip its rules.
 */
describe("the transfer boundary", () => {
  it("is the only server code that calls rsync", () => {
    const root = resolve(import.meta.dirname, "../src");
    const offenders = listSources(root).filter((file) => {
      if (file.startsWith(resolve(root, "transfer") + sep)) return false;
      return /\brsync\s*\(|RSYNC_SAFE_FLAGS|spawn\(\s*["']rsync/.test(readFileSync(file, "utf8"));
    });
    expect(offenders).toEqual([]);
  });
});

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = resolve(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

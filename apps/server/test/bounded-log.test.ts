import { describe, expect, it } from "vitest";
import { tempDir } from "@dumont/testing";
import { BoundedLog } from "../src/transfer/bounded-log";
import { ResourceStore } from "../src/transfer/resource-store";

/** A reader following the log from 0 to its end, page by page, as `dumont job logs` does. */
function readAll(log: BoundedLog, page: number): { text: Buffer; skipped: number; reads: number } {
  const parts: Buffer[] = [];
  let offset = 0;
  let skipped = 0;
  let reads = 0;
  while (offset < log.size()) {
    const slice = log.read(offset, page);
    reads += 1;
    if (reads > 10_000) throw new Error(`stuck at ${offset} of ${log.size()}`);
    parts.push(slice.data);
    skipped += slice.skipped;
    offset = slice.nextOffset;
  }
  return { text: Buffer.concat(parts), skipped, reads };
}

describe("BoundedLog (what a machine writes without limit, kept within bounds)", () => {
  const fresh = (headBytes: number, tailBytes: number) =>
    new BoundedLog(new ResourceStore(tempDir(), "job_log"), "job.log", { headBytes, tailBytes });

  it("never cuts a character at the head's end, and a reader always reaches the end", () => {
    const log = fresh(10, 1000);
    log.append(Buffer.from("aaaaaaaaa€bbbbbbbb")); // € is 3 bytes, straddling byte 10
    const { text, skipped } = readAll(log, 4);
    expect(text.toString("utf8")).toBe("aaaaaaaaa€bbbbbbbb");
    expect(skipped).toBe(0);
  });

  it("moves on past a stray byte from a hostile or killed writer instead of waiting forever", () => {
    const log = fresh(1000, 1000);
    log.append(Buffer.from([0x61, 0x62, 0xe2])); // "ab" + the first byte of a 3-byte character
    const { text } = readAll(log, 64);
    expect(text).toEqual(Buffer.from([0x61, 0x62, 0xe2]));
  });

  it("keeps the head and a rolling tail, with logical offsets that followers can trust", () => {
    const log = fresh(100, 100);
    for (let i = 0; i < 1000; i++) log.append(Buffer.from(`line ${i}\n`));
    const total = log.size();
    expect(total).toBe(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("").length);
    const { text, skipped } = readAll(log, 37);
    expect(text.toString().startsWith("line 0\nline 1\n")).toBe(true);
    expect(text.toString().endsWith("line 998\nline 999\n")).toBe(true);
    expect(text.length + skipped).toBe(total);
    expect(text.length).toBeLessThanOrEqual(100 + 200);
    const last = log.read(log.offsetOfLastLines(2, 1 << 20), 1 << 20).data.toString();
    expect(last).toBe("line 998\nline 999\n");
  });
});

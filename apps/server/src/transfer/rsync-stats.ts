import { untrustedText } from "@dumont/core";

/**
 * Reading what an rsync that ran on a rented machine printed. The machine runs the user's code
 * as root, so its rsync may be replaced, and its output is input like an HTTP body: kept in
 * bounded buffers, parsed line by line against exact forms, and anything missing, repeated or
 * garbled is a clear error, never a NaN that ends up in a row.
 */

/** What `rsync --stats` says about one copy, from the side that ran it. */
export interface RsyncStats {
  /** "Number of files: N (reg: R, …)": the regular files in the source (after excludes). */
  regularFiles: number;
  /** "Number of regular files transferred: N": files whose content was (re)sent. */
  filesTransferred: number;
  /** "Total bytes sent: N" (what the side that ran rsync wrote to the wire). */
  bytesSent: number;
  /** "Total bytes received: N". */
  bytesReceived: number;
}

/** A problem in what a machine printed: the copy's outcome is unknown, so the caller fails it. */
export class RsyncOutputError extends Error {
  override readonly name = "RsyncOutputError";
}

/** Where the stats lines are looked for: rsync prints them last, and they take under 1 KiB. */
export const STATS_TAIL_CHARS = 16_384;

// rsync ≥ 3.1 groups digits ("5,004"; "5.004" where the locale's decimal point is a comma);
// older ones print plain digits. One separator per number, groups of exactly three.
const COUNT = String.raw`(\d{1,3}(?:,\d{3})+|\d{1,3}(?:\.\d{3})+|\d+)`;

const LINES = {
  files: new RegExp(String.raw`^Number of files: ${COUNT}(?: \(([^()]*)\))?$`),
  transferred: new RegExp(String.raw`^Number of (?:regular )?files transferred: ${COUNT}$`),
  sent: new RegExp(String.raw`^Total bytes sent: ${COUNT}$`),
  received: new RegExp(String.raw`^Total bytes received: ${COUNT}$`),
} as const;

/** Parses the stats block of `rsync --stats` (other lines are ignored; each stats line must appear once). */
export function parseRsyncStats(output: string): RsyncStats {
  const found: Partial<Record<keyof typeof LINES, RegExpExecArray>> = {};
  for (const raw of output.split("\n")) {
    const line = raw.replace(/\r$/, "");
    for (const key of Object.keys(LINES) as (keyof typeof LINES)[]) {
      const match = LINES[key].exec(line);
      if (!match) continue;
      if (found[key]) throw new RsyncOutputError(`rsync's stats say ${JSON.stringify(untrustedText(line, 80))} twice`);
      found[key] = match;
    }
  }
  const missing = (Object.keys(LINES) as (keyof typeof LINES)[]).filter((key) => !found[key]);
  if (missing.length > 0) {
    throw new RsyncOutputError(
      `rsync's output has no ${missing.map((key) => JSON.stringify(LINE_NAMES[key])).join(", ")} line ` +
        `(it ended with ${JSON.stringify(untrustedText(output.slice(-200), 200))})`,
    );
  }
  const files = found.files as RegExpExecArray;
  const total = parseCount(files[1] as string, "Number of files");
  const regularFiles = files[2] === undefined ? (total === 0 ? 0 : undefined) : parseBreakdown(files[2]).reg;
  if (regularFiles === undefined) {
    throw new RsyncOutputError(`rsync's "Number of files" line has no breakdown by kind`);
  }
  if (regularFiles > total) throw new RsyncOutputError(`rsync counted ${regularFiles} regular files of ${total} files`);
  const filesTransferred = parseCount((found.transferred as RegExpExecArray)[1] as string, "files transferred");
  if (filesTransferred > regularFiles) {
    throw new RsyncOutputError(`rsync transferred ${filesTransferred} of ${regularFiles} regular files`);
  }
  return {
    regularFiles,
    filesTransferred,
    bytesSent: parseCount((found.sent as RegExpExecArray)[1] as string, "bytes sent"),
    bytesReceived: parseCount((found.received as RegExpExecArray)[1] as string, "bytes received"),
  };
}

const LINE_NAMES: Record<keyof typeof LINES, string> = {
  files: "Number of files",
  transferred: "Number of regular files transferred",
  sent: "Total bytes sent",
  received: "Total bytes received",
};

/** "reg: 2, dir: 2, link: 1" → counts by kind; a kind rsync did not list is 0. */
function parseBreakdown(text: string): { reg: number } {
  const counts = new Map<string, number>();
  for (const part of text.split(", ")) {
    const match = new RegExp(String.raw`^([a-z]{1,10}): ${COUNT}$`).exec(part);
    if (!match) throw new RsyncOutputError(`rsync's file breakdown has ${JSON.stringify(untrustedText(part, 40))}`);
    const kind = match[1] as string;
    if (counts.has(kind)) throw new RsyncOutputError(`rsync's file breakdown lists ${kind} twice`);
    counts.set(kind, parseCount(match[2] as string, kind));
  }
  return { reg: counts.get("reg") ?? 0 };
}

function parseCount(digits: string, what: string): number {
  const value = Number(digits.replace(/[,.]/g, ""));
  if (!Number.isSafeInteger(value)) throw new RsyncOutputError(`rsync's ${what} count ${digits} is out of range`);
  return value;
}

/**
 * The last `max` characters of a stream: rsync's stats come last, after as many "skipping
 * non-regular file" lines as the machine likes, and only the end is worth keeping.
 */
export class OutputTail {
  private text = "";
  private cut = false;

  constructor(private readonly max: number) {}

  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * this.max) {
      this.text = this.text.slice(-this.max);
      this.cut = true;
    }
  }

  /** The tail in whole lines: a line cut at the start is dropped, so it cannot pass for another. */
  toString(): string {
    if (!this.cut && this.text.length <= this.max) return this.text;
    const tail = this.text.slice(-this.max);
    const newline = tail.indexOf("\n");
    return newline === -1 ? "" : tail.slice(newline + 1);
  }
}

/** How many differences `verifyRestore` reports by line (the count covers them all). */
export const MAX_REPORTED_DIFFERENCES = 20;
const MAX_LINE_CHARS = 4_096;

// `--itemize-changes`: YXcstpoguax then a space and the name; deletions are "*deleting".
const ITEMIZED = /^(?:[<>ch.][fdLDS][.+?a-zA-Z ]{9} |\*deleting {2,})\S/;

/**
 * Counts the itemized lines of `rsync --itemize-changes` as the output streams by, keeping the
 * first few (cut and cleaned for display). Other lines (warnings, "skipping non-regular file")
 * are not differences. Memory stays bounded whatever the machine prints: a partial line is cut
 * at `MAX_LINE_CHARS`.
 */
export class ItemizedChanges {
  count = 0;
  readonly first: string[] = [];
  private partial = "";

  push(chunk: string): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = (parts.pop() as string).slice(0, MAX_LINE_CHARS);
    for (const line of parts) this.take(line);
  }

  /** Takes the last line if the output did not end with a newline. */
  end(): void {
    if (this.partial) this.take(this.partial);
    this.partial = "";
  }

  private take(raw: string): void {
    const line = raw.replace(/\r$/, "");
    if (!ITEMIZED.test(line)) return;
    this.count += 1;
    if (this.first.length < MAX_REPORTED_DIFFERENCES) this.first.push(untrustedText(line, 300));
  }
}

import { appendFileSync, closeSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ResourceStore } from "./resource-store";

export interface LogLimits {
  /** The first bytes of the log, kept whole. */
  headBytes: number;
  /** The last bytes, kept in a rolling window (between 1× and 2× this on disk). */
  tailBytes: number;
}

export interface LogSlice {
  data: Buffer;
  /** Logical offset of the byte after `data`; give it back to read on. */
  nextOffset: number;
  /** Bytes dropped between the head and the tail that this read jumped over (0 when none). */
  skipped: number;
}

/**
 * A log that a machine writes without limit, kept within bounds on the control plane: its head
 * (the first `headBytes`) and a rolling tail (the last `tailBytes`, at most twice that on disk).
 * Offsets are logical: byte N of everything ever appended, so a follower's offset stays valid
 * while the middle is dropped. The tail file's name carries its logical start offset, so a
 * compaction is one atomic rename and a crash cannot leave offsets and contents disagreeing.
 * Reads are by range and never load the whole log.
 */
export class BoundedLog {
  constructor(
    private readonly store: ResourceStore,
    private readonly name: string,
    private readonly limits: LogLimits,
  ) {}

  private get headPath(): string {
    return this.store.file(this.name);
  }

  /** Total bytes ever appended. */
  size(): number {
    const tail = this.tailFile();
    return tail ? tail.start + tail.size : this.headSize();
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.store.ensureRoot();
    const head = this.headSize();
    let rest = chunk;
    if (head < this.limits.headBytes && !this.tailFile()) {
      // The head ends on a character boundary when it can, so no character straddles the cut.
      const room = this.limits.headBytes - head;
      const take = rest.length <= room ? rest.length : utf8SafeEnd(rest.subarray(0, room)) || room;
      appendFileSync(this.headPath, rest.subarray(0, take), { mode: 0o600 });
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    const tail = this.tailFile() ?? { path: this.tailPath(this.headSize()), start: this.headSize(), size: 0 };
    appendFileSync(tail.path, rest, { mode: 0o600 });
    const size = tail.size + rest.length;
    if (size > 2 * this.limits.tailBytes) this.compact(tail.path, tail.start, size);
  }

  /** Up to `maxBytes` from logical `offset`; past the head, a read in the dropped middle jumps to the tail. */
  read(offset: number, maxBytes: number): LogSlice {
    const head = this.headSize();
    if (offset < head) {
      const data = readRange(this.headPath, offset, Math.min(maxBytes, head - offset));
      const end = cleanEnd(data);
      return { data: data.subarray(0, end), nextOffset: offset + end, skipped: 0 };
    }
    const tail = this.tailFile();
    if (!tail) return { data: Buffer.alloc(0), nextOffset: Math.min(offset, head), skipped: 0 };
    const from = Math.max(offset, tail.start);
    const data = readRange(tail.path, from - tail.start, Math.min(maxBytes, tail.start + tail.size - from));
    const end = cleanEnd(data);
    return { data: data.subarray(0, end), nextOffset: from + end, skipped: from - offset };
  }

  /**
   * Logical offset where the last `lines` lines begin, looking back at most `maxBytes` within the
   * newest part (the tail, or the head while there is no tail).
   */
  offsetOfLastLines(lines: number, maxBytes: number): number {
    const tail = this.tailFile();
    const [path, start, size] = tail ? [tail.path, tail.start, tail.size] : [this.headPath, 0, this.headSize()];
    const window = Math.min(size, maxBytes);
    const data = readRange(path, size - window, window);
    const windowStart = start + size - window;
    // A trailing newline ends the last line; it does not start another.
    let end = data.length;
    if (data[end - 1] === 0x0a) end -= 1;
    let seen = 0;
    for (let i = end - 1; i >= 0; i--) {
      if (data[i] === 0x0a && ++seen === lines) return windowStart + i + 1;
    }
    return windowStart;
  }

  private headSize(): number {
    try {
      return statSync(this.headPath).size;
    } catch {
      return 0;
    }
  }

  private tailPath(start: number): string {
    return this.store.file(`${this.name}.tail-${start}`);
  }

  /** The live tail file: the one with the highest start (older ones are leftovers of a crash). */
  private tailFile(): { path: string; start: number; size: number } | null {
    const prefix = `${this.name}.tail-`;
    let names: string[];
    try {
      names = readdirSync(this.store.root).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
    } catch {
      return null;
    }
    if (names.length === 0) return null;
    const starts = names.map((n) => Number(n.slice(prefix.length))).sort((a, b) => b - a);
    const start = starts[0] ?? 0;
    for (const stale of starts.slice(1)) rmSync(this.tailPath(stale), { force: true });
    const path = this.tailPath(start);
    return { path, start, size: statSync(path).size };
  }

  /** Keeps the last `tailBytes` of the tail in a new file named by its start, then drops the old one. */
  private compact(path: string, start: number, size: number): void {
    const keep = this.limits.tailBytes;
    const newStart = start + size - keep;
    const data = readRange(path, size - keep, keep);
    const next = this.tailPath(newStart);
    const temp = join(this.store.root, `.${this.name}.compacting`);
    rmSync(temp, { force: true });
    appendFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, next);
    rmSync(path, { force: true });
  }
}

function readRange(path: string, position: number, length: number): Buffer {
  if (length <= 0) return Buffer.alloc(0);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a slice may end so it decodes cleanly, but never nowhere: a slice that is only a broken
 * sequence (a stray byte from a hostile or killed writer) is returned whole, so readers move on.
 */
function cleanEnd(data: Buffer): number {
  return utf8SafeEnd(data) || data.length;
}

/** The length of `data` without a UTF-8 sequence cut at its end, so each slice decodes cleanly. */
export function utf8SafeEnd(data: Buffer): number {
  const n = data.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const byte = data[n - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** A timer on the simulated clock; `cancel` is safe to call after it fired. */
export interface SimTimer {
  cancel(): void;
}

interface Entry {
  due: number;
  seq: number;
  run: () => void;
  handle: NodeJS.Timeout | undefined;
}

/**
 * Simulated time. Durations in the simulation (boot times, rental periods, billing) are in
 * simulated milliseconds; one simulated millisecond takes `timeScale` real milliseconds, so 0.01
 * runs the market 100× faster. `timeScale` 0 freezes the clock: only `advance` moves it, which
 * makes a test fully deterministic. `advance` also works with a running clock (skip ahead).
 */
export class SimClock {
  private readonly realStart = performance.now();
  private skippedMs = 0;
  private seq = 0;
  private readonly timers = new Set<Entry>();
  private closed = false;

  constructor(
    readonly timeScale: number,
    /** The simulated epoch at start (ms); the market's dates read from here. */
    private readonly epochMs: number,
  ) {
    if (!(timeScale >= 0) || !Number.isFinite(timeScale)) throw new Error(`timeScale must be ≥ 0, got ${timeScale}`);
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    const real = this.timeScale > 0 ? (performance.now() - this.realStart) / this.timeScale : 0;
    return this.epochMs + real + this.skippedMs;
  }

  /** Simulated epoch seconds (Vast's date unit). */
  nowSeconds(): number {
    return this.now() / 1000;
  }

  /** Runs `run` after `delayMs` simulated milliseconds. */
  after(delayMs: number, run: () => void): SimTimer {
    const entry: Entry = { due: this.now() + Math.max(0, delayMs), seq: this.seq++, run, handle: undefined };
    if (this.closed) return { cancel: () => undefined };
    this.timers.add(entry);
    this.arm(entry);
    return {
      cancel: () => {
        if (entry.handle) clearTimeout(entry.handle);
        this.timers.delete(entry);
      },
    };
  }

  /** Real milliseconds that `simMs` simulated milliseconds take (for waits outside the clock). */
  toRealMs(simMs: number): number {
    return simMs * this.timeScale;
  }

  /** Jumps ahead, firing every timer that falls due on the way, in due order. */
  advance(ms: number): void {
    this.skippedMs += Math.max(0, ms);
    this.fireDue();
    for (const entry of this.timers) this.arm(entry);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.timers) if (entry.handle) clearTimeout(entry.handle);
    this.timers.clear();
  }

  private arm(entry: Entry): void {
    if (entry.handle) clearTimeout(entry.handle);
    entry.handle = undefined;
    if (this.timeScale === 0) return;
    const realDelay = Math.max(0, (entry.due - this.now()) * this.timeScale);
    // Node caps timeouts at 2^31-1 ms; a far-away timer is re-armed when it wakes early.
    entry.handle = setTimeout(() => this.fire(entry), Math.min(realDelay, 2_000_000_000));
    entry.handle.unref();
  }

  private fire(entry: Entry): void {
    if (!this.timers.has(entry)) return;
    if (entry.due > this.now() + 1e-6) {
      this.arm(entry);
      return;
    }
    this.timers.delete(entry);
    entry.run();
  }

  private fireDue(): void {
    for (;;) {
      const now = this.now();
      let next: Entry | undefined;
      for (const entry of this.timers) {
        if (entry.due <= now && (!next || entry.due < next.due || (entry.due === next.due && entry.seq < next.seq))) {
          next = entry;
        }
      }
      if (!next) return;
      if (next.handle) clearTimeout(next.handle);
      this.timers.delete(next);
      next.run();
    }
  }
}

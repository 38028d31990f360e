/**
 * Progress of a long wait, on stderr (stdout keeps the result). On a terminal it is one line
 * rewritten in place, with the elapsed time ticking; elsewhere (pipes, CI, tests) a plain line
 * is printed whenever the state changes, so a log reads as a history.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty: boolean;
  private lastState = "";
  private drawn = false;
  private render: () => string = () => "";

  constructor(
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = enabled && Boolean(stream.isTTY);
  }

  /** Seconds since the wait began, as `12s` or `3m04s`. */
  elapsed(): string {
    const s = Math.floor((Date.now() - this.started) / 1000);
    return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }

  /**
   * The current state: `state` decides when a plain line is due (it changed), `render` draws the
   * whole line (elapsed time, cost…) and is redrawn on every tick on a terminal.
   */
  update(state: string, render: () => string): void {
    if (!this.enabled) return;
    this.render = render;
    if (this.tty) this.redraw();
    else if (state !== this.lastState) this.stream.write(`${render()}\n`);
    this.lastState = state;
  }

  /** A line that stays (a candidate changed state); the updating line is drawn again below it. */
  note(line: string): void {
    if (!this.enabled) return;
    if (this.tty) {
      this.clear();
      this.stream.write(`${line}\n`);
      this.redraw();
    } else this.stream.write(`${line}\n`);
  }

  /** Redraws the updating line (for the elapsed time) on a terminal; nothing elsewhere. */
  tick(): void {
    if (this.tty && this.drawn) this.redraw();
  }

  /** Leaves the terminal's line clean for what follows. */
  done(): void {
    if (this.tty && this.drawn) {
      this.clear();
      this.stream.write(`${this.render()}\n`);
      this.drawn = false;
    }
  }

  private redraw(): void {
    const width = this.stream.columns > 10 ? this.stream.columns - 1 : 200;
    const text = this.render();
    this.stream.write(`\r\x1b[2K${text.length > width ? text.slice(0, width - 1) + "…" : text}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.stream.write("\r\x1b[2K");
  }
}

/** `$0.0123` for a cost so far; `~` says it is counted from what this CLI saw, not billed figures. */
export function money(usd: number, estimated = false): string {
  return `${estimated ? "~" : ""}$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

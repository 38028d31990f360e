import { lstatSync, mkdirSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { confineRemotePath, isDumontError, parseByteCount } from "@dumont/core";
import { rsync, shellQuote, sshExec, type SshEndpoint } from "@dumont/providers";
import type { ResourceStore, StoreArea } from "./resource-store";

export interface TransferLimits {
  /** Most bytes an area may hold after the copy. */
  maxBytes: number;
  /** Most entries (files and directories) an area may hold: a million empty ones fill a disk's inodes. */
  maxEntries: number;
  /** A copy stops when the control plane's disk has less than this free (every user's store shares it). */
  minFreeBytes: number;
}

export interface PullOptions {
  limits: TransferLimits;
  timeoutMs?: number;
  /** Make the copy mirror the machine (files gone there go here too): checkpoints. */
  mirror?: boolean;
  /** Transient failures (an SSH drop) are retried this many times; rsync resumes partial files. */
  retries?: number;
  signal?: AbortSignal;
}

export interface PullResult {
  /** Remote paths that did not exist on the machine (skipped, not an error). */
  missing: string[];
  /** Entries that were not plain files or directories, removed after the copy. */
  removed: string[];
  bytes: number;
  entries: number;
}

/** A copy that would exceed its limits: permanent (retrying copies the same bytes), and the partial copy is removed. */
export class TransferLimitExceeded extends Error {
  override readonly name = "TransferLimitExceeded";
}

const WATCH_EVERY_MS = 200;

/**
 * The one module that moves data between a rented machine and the control plane. Everything
 * that comes back is untrusted: remote paths are confined (under /workspace, no `..`), landing
 * paths are computed inside the resource's own store and verified, rsync keeps only plain files
 * with fixed modes (`RSYNC_SAFE_FLAGS`), a watchdog stops a copy that outgrows its limits, and
 * the store is scrubbed afterwards. Nothing else in the server calls rsync or writes into a store.
 */
export class MachineTransfer {
  constructor(
    private readonly endpoint: SshEndpoint,
    private readonly privateKey: string,
  ) {}

  /** Copies each remote path (file or directory) into `area` of `store`, under its own remote path. */
  async pull(
    store: ResourceStore,
    area: StoreArea,
    remotePaths: readonly string[],
    options: PullOptions,
  ): Promise<PullResult> {
    store.ensureRoot();
    mkdirSync(store.areaDir(area), { recursive: true, mode: 0o700 });
    const missing: string[] = [];
    for (const raw of remotePaths) {
      const path = confineRemotePath(raw);
      const kind = await this.retrying(options, () => this.kindOf(path));
      if (kind === "none") {
        missing.push(path);
        continue;
      }
      await this.checkRemoteSize(path, options.limits);
      const landing = store.landingPath(area, path);
      const target = kind === "dir" ? landing : dirname(landing);
      mkdirSync(target, { recursive: true, mode: 0o700 });
      await this.retrying(options, () =>
        this.watched(store, area, options, (signal) =>
          rsync({
            endpoint: this.endpoint,
            privateKey: this.privateKey,
            source: kind === "dir" ? `${path}/` : path,
            destination: `${target}/`,
            direction: "pull",
            delete: options.mirror ?? false,
            timeoutMs: options.timeoutMs ?? 600_000,
            signal,
          }),
        ),
      );
    }
    const { removed } = store.scrub(area);
    const usage = store.usage(area);
    return { missing, removed, ...usage };
  }

  /** Puts what `area` holds for `remotePath` back on the machine (a checkpoint onto a new machine). */
  async push(store: ResourceStore, area: StoreArea, remotePath: string, options: { retries?: number } = {}) {
    const path = confineRemotePath(remotePath);
    const local = store.landingPath(area, path);
    let stat;
    try {
      stat = lstatSync(local);
    } catch {
      return { pushed: false };
    }
    if (!stat.isDirectory() && !stat.isFile()) return { pushed: false };
    const remoteDir = stat.isDirectory() ? path : dirname(path);
    await this.retrying(options, async () => {
      const made = await sshExec({
        endpoint: this.endpoint,
        privateKey: this.privateKey,
        command: `mkdir -p ${shellQuote(remoteDir)}`,
        timeoutMs: 30_000,
      });
      if (made.exitCode !== 0) throw new Error(`mkdir ${remoteDir} failed on the machine (exit ${made.exitCode})`);
      await rsync({
        endpoint: this.endpoint,
        privateKey: this.privateKey,
        source: stat.isDirectory() ? `${local}/` : local,
        destination: `${remoteDir}/`,
        direction: "push",
      });
    });
    return { pushed: true };
  }

  /** "dir", "file" or "none": the machine's answer, accepted only in exactly that form. */
  private async kindOf(path: string): Promise<"dir" | "file" | "none"> {
    const quoted = shellQuote(path);
    const result = await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: `if [ -d ${quoted} ]; then echo dir; elif [ -e ${quoted} ]; then echo file; else echo none; fi`,
      timeoutMs: 30_000,
    });
    const answer = result.stdout.trim();
    if (answer === "dir" || answer === "file" || answer === "none") return answer;
    throw new Error(`the machine answered ${JSON.stringify(answer.slice(0, 40))} when asked what ${path} is`);
  }

  /**
   * An honest machine's own count, so an oversized copy fails before it starts. A lying machine
   * gains nothing: the watchdog measures what actually lands.
   */
  private async checkRemoteSize(path: string, limits: TransferLimits): Promise<void> {
    const result = await sshExec({
      endpoint: this.endpoint,
      privateKey: this.privateKey,
      command: `du -sb -- ${shellQuote(path)} 2>/dev/null | cut -f1`,
      timeoutMs: 60_000,
    }).catch(() => undefined);
    const size = result ? parseByteCount(result.stdout) : undefined;
    if (!size?.ok) return;
    if (size.value > limits.maxBytes) {
      throw new TransferLimitExceeded(
        `${path} holds ${formatBytes(size.value)}, over the limit of ${formatBytes(limits.maxBytes)}; nothing was copied`,
      );
    }
  }

  /** Runs a copy while measuring what lands; over the limits, the copy is killed and the area cleared. */
  private async watched<T>(
    store: ResourceStore,
    area: StoreArea,
    options: PullOptions,
    copy: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const abortOuter = () => controller.abort();
    options.signal?.addEventListener("abort", abortOuter, { once: true });
    let exceeded: string | null = null;
    const { maxBytes, maxEntries, minFreeBytes } = options.limits;
    const check = () => {
      const usage = store.usage(area, { bytes: maxBytes, entries: maxEntries });
      if (usage.bytes > maxBytes)
        exceeded = `${formatBytes(usage.bytes)} and counting, over the limit of ${formatBytes(maxBytes)}`;
      else if (usage.entries > maxEntries)
        exceeded = `${usage.entries} files and directories and counting, over the limit of ${maxEntries}`;
      else if (freeBytes(store.root) < minFreeBytes)
        exceeded = `the control plane's disk is down to ${formatBytes(freeBytes(store.root))} free (it keeps ${formatBytes(minFreeBytes)})`;
      if (exceeded) controller.abort();
    };
    // The walk runs on the event loop: look again after five times what the last look took, so a
    // large tree slows the watchdog down rather than the server.
    let timer: NodeJS.Timeout | undefined;
    const watch = () => {
      const started = Date.now();
      check();
      if (!exceeded) timer = setTimeout(watch, Math.max(WATCH_EVERY_MS, 5 * (Date.now() - started)));
    };
    timer = setTimeout(watch, WATCH_EVERY_MS);
    try {
      const result = await copy(controller.signal);
      check();
      if (exceeded) throw new TransferLimitExceeded(exceeded);
      return result;
    } catch (error) {
      if (exceeded) {
        await store.clear(area);
        throw new TransferLimitExceeded(`the copy was stopped and removed: ${exceeded as string}`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", abortOuter);
    }
  }

  /** Retries transient failures (SSH drops, a machine that answered oddly once); never limit breaches. */
  private async retrying<T>(options: { retries?: number; signal?: AbortSignal }, run: () => Promise<T>): Promise<T> {
    const retries = options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const transient =
          !(error instanceof TransferLimitExceeded) &&
          !(error instanceof RangeError) &&
          (!isDumontError(error) || error.code === "MACHINE_UNREACHABLE");
        if (!transient || attempt >= retries || options.signal?.aborted) throw error;
        await sleep(500 * 2 ** attempt);
      }
    }
  }
}

function freeBytes(path: string): number {
  try {
    const stat = statfsSync(path);
    return stat.bavail * stat.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { activeStatuses, isTerminal } from "@dumont/core";
import type { ControlledColumns, ControlledStore, ControlledTable } from "@dumont/db";
import type { AnyController, ReconcileContext } from "./controller";
import type { Metrics } from "../http/metrics";

export interface ControllerRunnerOptions {
  store: ControlledStore;
  controllers: AnyController[];
  /** Unique per process: the lease owner and the `actor` on events. */
  owner: string;
  leaseMs: number;
  pollMs: number;
  concurrency: number;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

// A step that throws is retried after this delay rather than in a hot loop.
const ERROR_BACKOFF_MS = 5_000;

/**
 * Hosts every controller in one loop: claim due rows with a lease, reconcile each (renewing the
 * lease while it runs), release. Nothing lives only in memory: a restarted process finds every
 * unfinished row in the database and carries on once the dead process's leases expire.
 */
export class ControllerRunner {
  private readonly inflight = new Map<string, Promise<void>>();
  /** Rows in flight here that were nudged meanwhile: due again as soon as their step ends. */
  private readonly nudgedInFlight = new Set<string>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake that came while a tick was claiming: the next sleep is skipped instead of lost. */
  private wokenDuringTick = false;
  /** When rows released here fall due before a poll would see them (ascending), and one timer for the first. */
  private dueTimes: number[] = [];
  private dueTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ControllerRunnerOptions) {
    this.now = options.now ?? Date.now;
  }

  get owner(): string {
    return this.options.owner;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Look for due work now instead of at the next poll (after an API call created some). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenDuringTick = true;
  }

  /**
   * Makes one row due now and looks for work: a controller whose row depends on another's status
   * (a deployment on its candidates, a job on its deployment) is told at once instead of finding
   * out at its next poll. A row this process is reconciling runs again right after its step; one
   * leased by another replica keeps that replica's schedule (its poll still finds the change).
   */
  async nudge(table: ControlledTable, id: string): Promise<void> {
    const key = `${table}:${id}`;
    if (this.inflight.has(key)) this.nudgedInFlight.add(key);
    else await this.options.store.makeDue(table, { id, now: this.now() });
    this.wake();
  }

  /** Stops claiming, lets in-flight steps finish (or abort), and releases their leases. */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.dueTimer) clearTimeout(this.dueTimer.timer);
    this.wake();
    await this.loop;
    await Promise.allSettled(this.inflight.values());
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      this.wokenDuringTick = false;
      try {
        await this.tick();
      } catch (error) {
        this.options.logger.error({ err: error }, "controller tick failed");
      }
      if (this.wokenDuringTick) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async tick(): Promise<void> {
    for (const controller of this.options.controllers) {
      const free = this.options.concurrency - this.inflight.size;
      if (free <= 0 || this.stopping.signal.aborted) return;
      const rows = await this.options.store.claimDue(controller.table, {
        owner: this.options.owner,
        leaseMs: this.options.leaseMs,
        limit: free,
        now: this.now(),
        activeStatuses: activeStatuses(controller.machine),
      });
      for (const row of rows) {
        const key = `${controller.table}:${row.id}`;
        const work = this.drive(controller, row as ControlledColumns & Record<string, unknown>).finally(() => {
          this.inflight.delete(key);
          this.nudgedInFlight.delete(key);
          this.wake();
        });
        this.inflight.set(key, work);
      }
    }
  }

  private async drive(controller: AnyController, row: ControlledColumns & Record<string, unknown>): Promise<void> {
    const { store, owner, leaseMs, metrics } = this.options;
    const lease = new AbortController();
    const signal = AbortSignal.any([lease.signal, this.stopping.signal]);
    const log = this.options.logger.child({ resource: controller.table, id: row.id });
    const heartbeat = setInterval(
      () => {
        store
          .renewLease(controller.table, { id: row.id, owner, leaseMs, now: this.now() })
          .then((held) => {
            if (!held) lease.abort(new Error("lease lost"));
          })
          .catch((error: unknown) => log.warn({ err: error }, "lease renewal failed"));
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );

    const ctx: ReconcileContext<ControlledColumns & Record<string, unknown>, string> = {
      owner,
      signal,
      log,
      now: this.now,
      transition: async (to, reason, patch) => {
        const outcome = await store.transition({
          table: controller.table,
          machine: controller.machine,
          id: row.id,
          to,
          reason,
          actor: owner,
          leaseOwner: owner,
          patch,
          now: this.now(),
        });
        if (!outcome.ok) {
          log.info({ to, refused: outcome.reason }, "transition refused");
          return false;
        }
        metrics.transitions.inc({ resource: controller.table, to });
        log.info({ from: row.status, to, reason }, "transition");
        row.status = to;
        return true;
      },
      patch: (patch) => store.patchLeased(controller.table, { id: row.id, owner, patch, now: this.now() }),
      holdLease: async () => {
        const held =
          !signal.aborted &&
          (await store.renewLease(controller.table, { id: row.id, owner, leaseMs, now: this.now() }));
        if (!held) lease.abort(new Error("lease lost"));
        return held;
      },
    };

    let nextRunAt = this.now();
    const stopTimer = metrics.reconcileSeconds.startTimer({ resource: controller.table });
    try {
      const result = await controller.reconcile(row, ctx);
      nextRunAt = this.now() + result.requeueInMs;
    } catch (error) {
      if (signal.aborted) {
        log.info({ reason: String(signal.reason) }, "step interrupted");
      } else {
        metrics.reconcileErrors.inc({ resource: controller.table });
        log.error({ err: error }, "reconcile step failed; will retry");
        nextRunAt = this.now() + ERROR_BACKOFF_MS;
      }
    } finally {
      clearInterval(heartbeat);
      stopTimer();
    }
    const key = `${controller.table}:${row.id}`;
    if (this.nudgedInFlight.delete(key)) nextRunAt = Math.min(nextRunAt, this.now());
    if (isTerminal(controller.machine, row.status)) nextRunAt = Number.MAX_SAFE_INTEGER;
    try {
      await store.releaseLease(controller.table, {
        id: row.id,
        owner,
        nextRunAt,
        expectedStatus: row.status,
        now: this.now(),
      });
    } catch (error) {
      // The lease expires on its own; another pass (or replica) picks the row up then.
      log.warn({ err: error }, "lease release failed");
    }
    this.wakeAt(nextRunAt);
  }

  /** A row due sooner than the next poll is looked at when it falls due, not up to a poll later. */
  private wakeAt(at: number): void {
    const delay = at - this.now();
    if (delay <= 0 || delay >= this.options.pollMs || this.stopping.signal.aborted) return;
    let index = this.dueTimes.findIndex((t) => t > at);
    if (index === -1) index = this.dueTimes.length;
    this.dueTimes.splice(index, 0, at);
    this.armDueTimer();
  }

  private armDueTimer(): void {
    const now = this.now();
    while (this.dueTimes.length > 0 && (this.dueTimes[0] ?? 0) <= now) this.dueTimes.shift();
    const next = this.dueTimes[0];
    if (next === undefined || this.stopping.signal.aborted) return;
    if (this.dueTimer?.at === next) return;
    if (this.dueTimer) clearTimeout(this.dueTimer.timer);
    const timer = setTimeout(() => {
      this.dueTimer = undefined;
      this.wake();
      this.armDueTimer();
    }, next - now);
    timer.unref();
    this.dueTimer = { at: next, timer };
  }
}

/** Sleeps, but wakes early (and throws) when the signal aborts. */
export async function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal });
}

import type { Logger } from "pino";
import type { StateMachine } from "@dumont/core";
import type { ControlledColumns, ControlledTable } from "@dumont/db";

/** What a reconcile step may do to its row; every write is guarded by the runner's lease. */
export interface ReconcileContext<TRow extends ControlledColumns, TStatus extends string> {
  /** Lease owner id of this server process; also the `actor` of events it writes. */
  readonly owner: string;
  /** Aborted when the lease is lost or the server is stopping: stop work and return. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  now(): number;
  /** lock → re-read → guard → write status + event. False when the guard refused (lease lost, status moved). */
  transition(to: TStatus, reason: string, patch?: Partial<TRow>): Promise<boolean>;
  /**
   * Renews the lease and says whether we still hold it. Call it right before an external side
   * effect, so a process whose lease silently expired (a long GC pause, a stalled machine) does
   * not act on a row another replica now drives.
   */
  holdLease(): Promise<boolean>;
  /** Writes progress columns without changing the status. False when the lease is gone. */
  patch(patch: Partial<TRow>): Promise<boolean>;
}

export interface ReconcileResult {
  /** When to look at the row again; ignored once it is terminal. */
  requeueInMs: number;
}

/** Drives one kind of resource through its state machine, one step per call. */
export interface Controller<TRow extends ControlledColumns, TStatus extends string> {
  readonly table: ControlledTable;
  readonly machine: StateMachine<TStatus>;
  reconcile(row: TRow, ctx: ReconcileContext<TRow, TStatus>): Promise<ReconcileResult>;
}

/** A controller with its row type erased, for the runner's list. */
export type AnyController = Controller<ControlledColumns & Record<string, unknown>, string>;

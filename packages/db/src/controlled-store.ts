import type { Kysely, Transaction } from "kysely";
import { DumontError, canTransition, type StateMachine } from "@dumont/core";
import type { ControlledColumns, ControlledTable, Database } from "./schema";
import type { SqlDialect } from "./dialect/sql-dialect";

// The controlled tables share their leading columns; this view lets one store drive all of them.
type ControlledDb = { [K in ControlledTable]: ControlledColumns } & Pick<Database, "events">;

export interface ClaimOptions {
  owner: string;
  leaseMs: number;
  limit: number;
  now: number;
  activeStatuses: readonly string[];
}

export interface TransitionRequest<TStatus extends string, TRow> {
  table: ControlledTable;
  machine: StateMachine<TStatus>;
  id: string;
  to: TStatus;
  reason: string;
  /** Who acts: a runner's lease owner id, or `user:<id>` for API actions. */
  actor: string;
  /** When set, the caller must still hold this lease (runners); API actions leave it unset. */
  leaseOwner?: string | undefined;
  /** Statuses the caller expects the row to be in; the guard refuses anything else. */
  from?: readonly TStatus[] | undefined;
  /** Other columns to write in the same statement as the status. */
  patch?: Partial<TRow> | undefined;
  /** Delay before the runner looks at the row again (default: now). */
  nextRunInMs?: number | undefined;
  now: number;
}

/** A committed transition, as listeners see it. */
export interface TransitionChange {
  table: ControlledTable;
  id: string;
  from: string;
  to: string;
  row: ControlledColumns & Record<string, unknown>;
}

export type TransitionOutcome<TRow> = { ok: true; row: TRow } | { ok: false; reason: string; row: TRow | undefined };

/**
 * Leases and transitions for every controller-driven table.
 *
 * A runner claims due rows by writing a lease (owner + expiry) in one statement; on PostgreSQL the
 * candidate rows are locked with SKIP LOCKED so replicas claim disjoint sets without waiting. Each
 * transition is one transaction: lock the row → re-read → guard (lease still ours, status
 * expected, transition declared) → write status and an event row.
 */
export class ControlledStore {
  private readonly db: Kysely<ControlledDb>;
  private readonly listeners: ((change: TransitionChange) => void)[] = [];

  constructor(
    db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {
    this.db = db as unknown as Kysely<ControlledDb>;
  }

  /**
   * Inserts a new controlled row and its creation event in one transaction. Written apart, another
   * replica could claim the row and log its first transition before the creation event, and the
   * resource's history would read out of order.
   */
  async insertCreated(
    table: ControlledTable,
    row: ControlledColumns,
    event: { reason: string; actor: string },
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto(table).values(row).execute();
      await trx
        .insertInto("events")
        .values({
          resource_type: table,
          resource_id: row.id,
          owner_id: row.owner_id,
          from_status: null,
          to_status: row.status,
          reason: event.reason,
          actor: event.actor,
          created_at: row.created_at,
        })
        .execute();
    });
  }

  async claimDue(table: ControlledTable, options: ClaimOptions): Promise<ControlledColumns[]> {
    if (options.activeStatuses.length === 0) return [];
    const { now } = options;
    const skipLocked = this.dialect.supportsSkipLocked;
    return this.db
      .updateTable(table)
      .set({ lease_owner: options.owner, lease_expires_at: now + options.leaseMs })
      .where("id", "in", (eb) =>
        eb
          .selectFrom(table)
          .select("id")
          .where("status", "in", options.activeStatuses)
          .where("next_run_at", "<=", now)
          .where((w) => w.or([w("lease_owner", "is", null), w("lease_expires_at", "<", now)]))
          .orderBy("next_run_at")
          .limit(options.limit)
          .$if(skipLocked, (q) => q.forUpdate().skipLocked()),
      )
      .where((w) => w.or([w("lease_owner", "is", null), w("lease_expires_at", "<", now)]))
      .returningAll()
      .execute();
  }

  /**
   * Makes a row due now (a dependent row changed: see ControllerRunner.nudge). Rows already due,
   * and terminal ones (never claimed), are left as they are.
   */
  async makeDue(table: ControlledTable, options: { id: string; now: number }): Promise<void> {
    await this.db
      .updateTable(table)
      .set({ next_run_at: options.now })
      .where("id", "=", options.id)
      .where("next_run_at", ">", options.now)
      .execute();
  }

  /**
   * Calls `listener` after each transition this process commits (not other replicas'), so the
   * process can react at once; anything that must see every replica's transitions polls the
   * tables or the events instead. A listener must not throw. Returns the call that removes it.
   */
  onTransition(listener: (change: TransitionChange) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at !== -1) this.listeners.splice(at, 1);
    };
  }

  /** Extends our lease; false means another process took the row (our lease had expired). */
  async renewLease(table: ControlledTable, options: { id: string; owner: string; leaseMs: number; now: number }) {
    const result = await this.db
      .updateTable(table)
      .set({ lease_expires_at: options.now + options.leaseMs })
      .where("id", "=", options.id)
      .where("lease_owner", "=", options.owner)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Gives the row back. `expectedStatus` is the status the holder left it in: if someone else (a
   * user's API call) changed it meanwhile, the row is due at once instead of at `nextRunAt`.
   */
  async releaseLease(
    table: ControlledTable,
    options: { id: string; owner: string; nextRunAt: number; expectedStatus: string; now: number },
  ) {
    await this.db
      .updateTable(table)
      .set((eb) => ({
        lease_owner: null,
        lease_expires_at: null,
        next_run_at: eb
          .case()
          .when("status", "=", options.expectedStatus)
          .then(options.nextRunAt)
          .else(options.now)
          .end(),
      }))
      .where("id", "=", options.id)
      .where("lease_owner", "=", options.owner)
      .execute();
  }

  /** Writes columns other than the status while holding the lease (progress counters and the like). */
  async patchLeased<TRow>(
    table: ControlledTable,
    options: { id: string; owner: string; patch: Partial<TRow>; now: number },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable(table)
      .set({ ...(options.patch as Partial<ControlledColumns>), updated_at: options.now })
      .where("id", "=", options.id)
      .where("lease_owner", "=", options.owner)
      .where("lease_expires_at", ">=", options.now)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async transition<TStatus extends string, TRow extends ControlledColumns>(
    request: TransitionRequest<TStatus, TRow>,
  ): Promise<TransitionOutcome<TRow>> {
    let from = "";
    const outcome = await this.db.transaction().execute(async (trx) => {
      const current = await this.lockRow<TRow>(trx, request.table, request.id);
      const refusal = this.guard(request, current);
      if (refusal !== undefined) return { ok: false as const, reason: refusal, row: current };
      from = (current as TRow).status;
      await trx
        .updateTable(request.table)
        .set({
          ...(request.patch as Partial<ControlledColumns> | undefined),
          status: request.to,
          updated_at: request.now,
          next_run_at: request.now + (request.nextRunInMs ?? 0),
        })
        .where("id", "=", request.id)
        .execute();
      await trx
        .insertInto("events")
        .values({
          resource_type: request.table,
          resource_id: request.id,
          owner_id: (current as TRow).owner_id,
          from_status: from,
          to_status: request.to,
          reason: request.reason,
          actor: request.actor,
          created_at: request.now,
        })
        .execute();
      const row = await trx.selectFrom(request.table).selectAll().where("id", "=", request.id).executeTakeFirst();
      return { ok: true as const, row: row as TRow };
    });
    if (outcome.ok) {
      const change = {
        table: request.table,
        id: request.id,
        from,
        to: request.to,
        row: outcome.row as ControlledColumns & Record<string, unknown>,
      };
      for (const listener of this.listeners) listener(change);
    }
    return outcome;
  }

  /** Like `transition`, but an API caller's refusal becomes a 404 or 409 error. */
  async transitionOrThrow<TStatus extends string, TRow extends ControlledColumns>(
    request: TransitionRequest<TStatus, TRow> & { ownerId: string },
  ): Promise<TRow> {
    const outcome = await this.transition<TStatus, TRow>(request);
    if (outcome.ok) return outcome.row;
    if (outcome.row === undefined || outcome.row.owner_id !== request.ownerId) {
      throw new DumontError({ code: "NOT_FOUND", message: `${request.table} ${request.id} not found` });
    }
    throw new DumontError({
      code: "INVALID_TRANSITION",
      message: `cannot move ${request.id} to ${request.to}: ${outcome.reason}`,
      details: { status: outcome.row.status, requested: request.to },
    });
  }

  private async lockRow<TRow>(trx: Transaction<ControlledDb>, table: ControlledTable, id: string) {
    const row = await trx
      .selectFrom(table)
      .selectAll()
      .where("id", "=", id)
      .$if(this.dialect.supportsRowLocks, (q) => q.forUpdate())
      .executeTakeFirst();
    return row as TRow | undefined;
  }

  private guard<TStatus extends string, TRow extends ControlledColumns>(
    request: TransitionRequest<TStatus, TRow>,
    current: TRow | undefined,
  ): string | undefined {
    if (current === undefined) return "no such row";
    if (request.leaseOwner !== undefined) {
      if (current.lease_owner !== request.leaseOwner) return "lease lost";
      if ((current.lease_expires_at ?? 0) < request.now) return "lease expired";
    }
    const status = current.status as TStatus;
    if (request.from !== undefined && !request.from.includes(status)) return `status is ${status}`;
    if (!request.machine.statuses.includes(status)) return `unknown status ${status}`;
    if (!canTransition(request.machine, status, request.to)) return `${status} → ${request.to} is not allowed`;
    return undefined;
  }
}

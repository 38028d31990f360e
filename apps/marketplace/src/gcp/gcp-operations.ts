/**
 * @module Zone operations: what every mutating Compute call returns and clients poll
 * (PENDING → RUNNING → DONE; a failed one is DONE with `error`).
 */
import { randomBytes } from "node:crypto";
import type { SimClock } from "../clock";
import type { GcpZone } from "./gcp-catalog";
import { GCP_SERVICE_ACCOUNT_EMAIL } from "./gcp-project";

export type OperationType = "insert" | "stop" | "start" | "delete";
export type OperationStatus = "PENDING" | "RUNNING" | "DONE";

export interface OperationError {
  code: string;
  message: string;
}

export interface GcpOperation {
  id: string;
  name: string;
  zone: GcpZone;
  type: OperationType;
  targetName: string;
  targetId: string;
  status: OperationStatus;
  progress: number;
  insertMs: number;
  startMs: number | undefined;
  endMs: number | undefined;
  error: OperationError | undefined;
  /** Resolves when the operation is DONE (or the market closes). */
  done: Promise<void>;
  settle: () => void;
}

/** Done operations kept for polling; the oldest go first beyond this. */
const MAX_KEPT = 10_000;

/** Every operation of the project, by zone and name, and by the `requestId` that created it. */
export class GcpOperations {
  private readonly byName = new Map<string, GcpOperation>();
  private readonly byRequestId = new Map<string, GcpOperation>();

  constructor(private readonly clock: SimClock) {}

  create(zone: GcpZone, type: OperationType, target: { name: string; id: string }): GcpOperation {
    let settle = () => undefined as void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const nowMs = this.clock.now();
    const op: GcpOperation = {
      id: decimalId(),
      name: `operation-${Math.floor(nowMs)}-${randomBytes(6).toString("hex")}-${randomBytes(4).toString("hex")}`,
      zone,
      type,
      targetName: target.name,
      targetId: target.id,
      status: "PENDING",
      progress: 0,
      insertMs: nowMs,
      startMs: undefined,
      endMs: undefined,
      error: undefined,
      done,
      settle,
    };
    this.byName.set(key(zone.name, op.name), op);
    this.prune();
    return op;
  }

  /** The work has begun (the VM left its starting state). */
  markRunning(op: GcpOperation): void {
    if (op.status !== "PENDING") return;
    op.status = "RUNNING";
    op.startMs = this.clock.now();
  }

  finish(op: GcpOperation, error?: OperationError): void {
    if (op.status === "DONE") return;
    this.markRunning(op);
    op.status = "DONE";
    op.progress = 100;
    op.endMs = this.clock.now();
    op.error = error;
    op.settle();
  }

  get(zone: string, name: string): GcpOperation | undefined {
    return this.byName.get(key(zone, name));
  }

  /** The operation an earlier call with this `requestId` created (GCP's idempotent retries). */
  forRequest(requestId: string | undefined): GcpOperation | undefined {
    return requestId ? this.byRequestId.get(requestId) : undefined;
  }

  rememberRequest(requestId: string | undefined, op: GcpOperation): void {
    if (requestId) this.byRequestId.set(requestId, op);
  }

  /** Resolves when `op` is DONE or after `realMs` real milliseconds, whichever comes first. */
  async waitDone(op: GcpOperation, realMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      op.done,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, realMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Releases every waiter (market shutdown): their replies say what the operation was last. */
  close(): void {
    for (const op of this.byName.values()) op.settle();
  }

  private prune(): void {
    if (this.byName.size <= MAX_KEPT) return;
    for (const [name, op] of this.byName) {
      if (this.byName.size <= MAX_KEPT) break;
      if (op.status !== "DONE") continue;
      this.byName.delete(name);
      for (const [requestId, held] of this.byRequestId) if (held === op) this.byRequestId.delete(requestId);
    }
  }
}

/** GCP's resource ids: unsigned 64-bit integers written in decimal. */
export function decimalId(): string {
  return String(randomBytes(8).readBigUInt64BE() >> 1n);
}

function key(zone: string, name: string): string {
  return `${zone}/${name}`;
}

/** The Operation resource as Compute answers it. */
export function operationView(op: GcpOperation, computeUrl: string, projectId: string): Record<string, unknown> {
  const zoneUrl = `${computeUrl}/projects/${projectId}/zones/${op.zone.name}`;
  return {
    kind: "compute#operation",
    id: op.id,
    name: op.name,
    zone: zoneUrl,
    operationType: op.type,
    targetLink: `${zoneUrl}/instances/${op.targetName}`,
    targetId: op.targetId,
    status: op.status,
    user: GCP_SERVICE_ACCOUNT_EMAIL,
    progress: op.progress,
    insertTime: rfc3339(op.insertMs),
    ...(op.startMs !== undefined ? { startTime: rfc3339(op.startMs) } : {}),
    ...(op.endMs !== undefined ? { endTime: rfc3339(op.endMs) } : {}),
    ...(op.error ? { error: { errors: [op.error] } } : {}),
    selfLink: `${zoneUrl}/operations/${op.name}`,
  };
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

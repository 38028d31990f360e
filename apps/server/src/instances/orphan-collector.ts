import type { Logger } from "pino";
import type { InstanceRow, InstancesRepository, OrphanCandidatesRepository } from "@dumont/db";
import type { Machine } from "@dumont/providers";
import type { MarketRegistry } from "../market/market-registry";
import { OUR_LABEL_PREFIX, parseMachineLabel } from "./machine-label";

export interface OrphanCollectorOptions {
  markets: MarketRegistry;
  instances: InstancesRepository;
  candidates: OrphanCandidatesRepository;
  /** This installation's id: only machines whose label carries it are ever destroyed. */
  installationId: string;
  /** A machine must look orphaned for this long before it is destroyed (creates in flight). */
  graceMs: number;
  intervalMs: number;
  logger: Logger;
  now: () => number;
  /** Standby (CPU) machines are swept in the same pass (see StandbyOrphans). */
  standby?: { sweep(): Promise<string[]> };
}

/** The first sweep runs this soon after start (or after one interval, if that is shorter). */
const FIRST_SWEEP_DELAY_MS = 1000;
/**
 * A row still `creating` without a machine id belongs to the instance controller, which finds
 * its machine by label (or fails the row); the collector waits at least this long before
 * overruling it, in case that controller cannot run.
 */
const CREATING_SETTLE_MS = 10 * 60_000;

/**
 * Destroys marketplace machines labelled as this installation's that no live instance owns: the
 * safety net for a crash between "create called" and "create recorded", or any bug that loses
 * track of a machine. A leak is money lost, so this runs on every replica (destroy is
 * idempotent). Another control plane may rent on the same account: its machines carry another
 * installation id and are never touched; old labels without an installation id are ours only
 * when one of our instance rows carries exactly that label.
 */
export class OrphanCollector {
  /** Old-format labels we cannot attribute, already logged once by this process. */
  private readonly reportedForeign = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private firstTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: OrphanCollectorOptions) {}

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.warn({ err: error }, "orphan sweep failed"))
        .finally(() => {
          this.running = undefined;
        });
    };
    this.firstTimer = setTimeout(tick, Math.min(FIRST_SWEEP_DELAY_MS, this.options.intervalMs));
    this.timer = setInterval(tick, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.firstTimer);
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every shared marketplace account; returns the machine ids destroyed. */
  async sweep(): Promise<string[]> {
    const destroyed: string[] = [];
    for (const { kind, provider } of this.options.markets.sharedAccounts()) {
      // Listed before the owned ids are read: a machine recorded in between counts as owned.
      const machines = await provider.listMachines(OUR_LABEL_PREFIX);
      const owned = await this.options.instances.machineIdsOf(kind);
      const unowned: string[] = [];
      for (const machine of machines) {
        if (owned.has(machine.id)) continue;
        const row = await this.ourRow(kind, machine);
        if (row === null) continue;
        unowned.push(machine.id);
        const now = this.options.now();
        const since = await this.options.candidates.firstSeen({
          market: kind,
          machineId: machine.id,
          label: machine.label ?? "",
          now,
        });
        if (now - since < this.options.graceMs) continue;
        if (
          row?.status === "creating" &&
          row.machine_id === null &&
          now - (row.create_attempted_at ?? now) < Math.max(this.options.graceMs, CREATING_SETTLE_MS)
        ) {
          continue;
        }
        await provider.destroyMachine(machine.id);
        await this.options.candidates.forget(kind, machine.id);
        const reason = row
          ? `instance ${row.id} is ${row.status} and does not own it`
          : `no instance ${parseMachineLabel(machine.label)?.resourceId || "(no id)"}`;
        await this.options.instances.recordOrphan({
          market: kind,
          machineId: machine.id,
          label: machine.label ?? "",
          reason,
          now,
        });
        this.options.logger.warn(
          { market: kind, machine: machine.id, label: machine.label, reason },
          "destroyed orphaned machine",
        );
        destroyed.push(machine.id);
      }
      await this.options.candidates.keepOnly(kind, unowned);
    }
    if (this.options.standby) destroyed.push(...(await this.options.standby.sweep()));
    return destroyed;
  }

  /**
   * Whether an unowned machine is this installation's: its instance row (undefined when our
   * label names no row), or null when the machine is not ours to touch.
   */
  private async ourRow(kind: string, machine: Machine): Promise<InstanceRow | undefined | null> {
    const label = parseMachineLabel(machine.label);
    if (!label) return null;
    if (label.installationId !== null && label.installationId !== this.options.installationId) return null;
    const found = label.resourceId ? await this.options.instances.findById(label.resourceId) : undefined;
    const row = found?.market === kind ? found : undefined;
    if (label.installationId === null && row?.label !== machine.label) {
      // An old-format label no row of ours carries: another control plane's, or ours from
      // before installation ids — we cannot tell, so it is left alone.
      const key = `${kind}:${machine.id}`;
      if (!this.reportedForeign.has(key)) {
        this.reportedForeign.add(key);
        this.options.logger.warn(
          { market: kind, machine: machine.id, label: machine.label },
          "machine with an old-format label that no instance of ours carries; left alone",
        );
      }
      return null;
    }
    return row;
  }
}

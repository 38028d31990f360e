import type { Logger } from "pino";
import type { InstancesRepository } from "@dumont/db";
import type { MarketRegistry } from "../market/market-registry";

export const OUR_LABEL_PREFIX = "dumont:";

export interface OrphanCollectorOptions {
  markets: MarketRegistry;
  instances: InstancesRepository;
  /** A machine must look orphaned for this long before it is destroyed (creates in flight). */
  graceMs: number;
  intervalMs: number;
  logger: Logger;
  now: () => number;
}

/**
 * Destroys marketplace machines labelled as ours that no live instance owns: the safety net for
 * a crash between "create called" and "create recorded", or any bug that loses track of a
 * machine. A leak is money lost, so this runs on every replica (destroy is idempotent).
 */
export class OrphanCollector {
  private readonly firstSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: OrphanCollectorOptions) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.warn({ err: error }, "orphan sweep failed"))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every shared marketplace account; returns the machine ids destroyed. */
  async sweep(): Promise<string[]> {
    const destroyed: string[] = [];
    for (const { kind, provider } of this.options.markets.sharedAccounts()) {
      const machines = await provider.listMachines(OUR_LABEL_PREFIX);
      const owned = await this.options.instances.machineIdsOf(kind);
      const now = this.options.now();
      for (const machine of machines) {
        const key = `${kind}:${machine.id}`;
        if (owned.has(machine.id)) {
          this.firstSeen.delete(key);
          continue;
        }
        const since = this.firstSeen.get(key) ?? now;
        this.firstSeen.set(key, since);
        if (now - since < this.options.graceMs) continue;
        const resourceId = (machine.label ?? "").slice(OUR_LABEL_PREFIX.length);
        const row = resourceId ? await this.options.instances.findById(resourceId) : undefined;
        // Still being created by a live controller: its id is not recorded yet, leave it alone.
        if (
          row?.status === "creating" &&
          row.machine_id === null &&
          now - (row.create_attempted_at ?? now) < this.options.graceMs
        ) {
          continue;
        }
        await provider.destroyMachine(machine.id);
        this.firstSeen.delete(key);
        const reason = row
          ? `instance ${row.id} is ${row.status} and does not own it`
          : `no instance ${resourceId || "(no id)"}`;
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
    }
    return destroyed;
  }
}

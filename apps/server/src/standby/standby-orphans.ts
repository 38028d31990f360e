import type { Logger } from "pino";
import type { StandbyRepository } from "@dumont/db";
import type { StandbyMarkets } from "./standby-markets";

export interface StandbyOrphansOptions {
  standbyMarkets: StandbyMarkets;
  standby: StandbyRepository;
  /** Only machines labelled with this installation's id are ever destroyed. */
  installationId: string;
  /** A machine younger than this is left alone (its create may still be being recorded). */
  graceMs: number;
  logger: Logger;
  now: () => number;
}

/** Associations in these statuses own their CPU machine; any other (or none) does not. */
const OWNING = new Set(["provisioning", "syncing", "failover_active", "recovering", "disabled", "destroying"]);

/**
 * The safety net for standby machines, as the orphan collector is for GPUs: a CPU machine with
 * this installation's label whose association is gone or ended is destroyed. Associations name
 * their machine before it exists, so a crash between create and record leaves a row that still
 * owns it (and its controller finds the machine again by name).
 */
export class StandbyOrphans {
  constructor(private readonly options: StandbyOrphansOptions) {}

  /** One pass over every standby project; returns the machine names destroyed. */
  async sweep(): Promise<string[]> {
    const destroyed: string[] = [];
    for (const { provider } of await this.options.standbyMarkets.accounts()) {
      const machines = await provider.listMachines({ key: "dumont-installation", value: this.options.installationId });
      const statuses = await this.options.standby.statusOf(
        machines.map((m) => m.labels["dumont-resource"] ?? "").filter((id) => id !== ""),
      );
      const now = this.options.now();
      for (const machine of machines) {
        // The label is checked again: a provider's filter is not trusted to be exact.
        if (machine.labels["dumont-installation"] !== this.options.installationId) continue;
        const owner = machine.labels["dumont-resource"] ?? "";
        const status = statuses.get(owner);
        if (status !== undefined && OWNING.has(status)) continue;
        if (machine.createdAt !== null && now - machine.createdAt < this.options.graceMs) continue;
        await provider.destroyMachine(machine.zone, machine.name);
        this.options.logger.warn(
          { machine: machine.name, zone: machine.zone, association: owner || null, status: status ?? null },
          "destroyed orphaned standby machine",
        );
        destroyed.push(machine.name);
      }
    }
    return destroyed;
  }
}

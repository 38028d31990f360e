import { isDumontError } from "@dumont/core";
import type { InstanceRow, InstancesRepository } from "@dumont/db";
import type { MarketKind, MarketRegistry } from "../market/market-registry";

/** What happened to one key on each of a user's machines. */
export interface KeyPropagationReport {
  /** Instances where the change took effect. */
  done: string[];
  /** Instances where it did not, and why (the marketplace refused, or cannot change keys later). */
  failed: { instance_id: string; reason: string }[];
}

/** Statuses whose machine exists and may be logged into again (paused ones come back). */
const LIVE_WITH_MACHINE = new Set(["creating", "booting", "running", "pausing", "paused", "resuming"]);

/**
 * Keeps a user's registered keys and their existing machines in step: a key added after renting
 * must open machines already running (Vast takes keys per instance), and a removed key must stop
 * opening them. Machines still being created get their keys from the create call itself, and the
 * instance controller attaches any key added while that call was in flight.
 */
export class SshKeyPropagation {
  constructor(
    private readonly deps: {
      instances: InstancesRepository;
      markets: MarketRegistry;
    },
  ) {}

  attachEverywhere(userId: string, publicKey: string): Promise<KeyPropagationReport> {
    return this.forEachMachine(userId, async (provider, machineId) => {
      await provider.attachSshKey(machineId, publicKey);
    });
  }

  detachEverywhere(userId: string, publicKey: string): Promise<KeyPropagationReport> {
    return this.forEachMachine(userId, async (provider, machineId) => {
      await provider.detachSshKey(machineId, publicKey);
    });
  }

  private async forEachMachine(
    userId: string,
    change: (provider: Awaited<ReturnType<MarketRegistry["providerFor"]>>, machineId: string) => Promise<void>,
  ): Promise<KeyPropagationReport> {
    const rows = (await this.deps.instances.listOwned(userId)).filter(
      (row): row is InstanceRow & { machine_id: string } =>
        row.machine_id !== null && LIVE_WITH_MACHINE.has(row.status),
    );
    const report: KeyPropagationReport = { done: [], failed: [] };
    await Promise.all(
      rows.map(async (row) => {
        try {
          const provider = await this.deps.markets.providerFor(userId, row.market as MarketKind);
          if (!provider.capabilities.supportsSshKeyAttach) {
            report.failed.push({ instance_id: row.id, reason: `${provider.name} takes SSH keys only when renting` });
            return;
          }
          await change(provider, row.machine_id);
          report.done.push(row.id);
        } catch (error) {
          const reason = isDumontError(error) ? `${error.code}: ${error.message}` : String(error);
          report.failed.push({ instance_id: row.id, reason });
        }
      }),
    );
    report.done.sort();
    report.failed.sort((a, b) => a.instance_id.localeCompare(b.instance_id));
    return report;
  }
}

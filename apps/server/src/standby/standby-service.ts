import { randomBytes } from "node:crypto";
import {
  DEFAULT_SYNC_EXCLUDES,
  DEFAULT_SYNC_INTERVAL_S,
  DumontError,
  STANDBY_MACHINE,
  notFound,
  type ConfigureStandbyBody,
  type ProvisionStandbyBody,
  type StandbyStatus,
} from "@dumont/core";
import type {
  ControlledStore,
  InstancesRepository,
  StandbyAssociationRow,
  StandbyConfigRow,
  StandbyRepository,
} from "@dumont/db";
import { generateSshKeyPair, isKnownMachineType, standbyHourlyPrice } from "@dumont/providers";
import type { z } from "zod";
import type { SecretBox } from "../security/secret-box";
import type { SpendingService } from "../spending/spending-service";
import type { StandbyMarkets } from "./standby-markets";

export type StandbyAction = "failover" | "recover" | "failback" | "disable" | "enable";

/** What a user gets until they configure otherwise: the seed's choices (a small spot VM, 30 s sync). */
export const STANDBY_DEFAULTS = {
  zone: "us-central1-a",
  machineType: "e2-medium",
  diskGb: 50,
  spot: true,
  syncIntervalS: DEFAULT_SYNC_INTERVAL_S,
  autoStandby: false,
  autoFailover: true,
  autoRecovery: true,
} as const;

/** Statuses each action may be asked in (the controller carries it out at its next step). */
const ACTION_FROM: Record<StandbyAction, readonly StandbyStatus[]> = {
  failover: ["syncing"],
  recover: ["failover_active"],
  failback: ["failover_active"],
  disable: ["syncing"],
  enable: ["disabled"],
};
const LIVE_INSTANCE: readonly string[] = ["creating", "booting", "running", "pausing", "paused", "resuming"];

export interface StandbyServiceDeps {
  standby: StandbyRepository;
  instances: InstancesRepository;
  store: ControlledStore;
  standbyMarkets: StandbyMarkets;
  spending: SpendingService;
  box: SecretBox;
  wake: () => void;
  nudge: (id: string) => Promise<void>;
  now: () => number;
}

/** The standby's API side: settings, provisioning, user actions, and what the views need. */
export class StandbyService {
  constructor(private readonly deps: StandbyServiceDeps) {}

  async config(userId: string): Promise<StandbyConfigRow> {
    return (await this.deps.standby.config(userId)) ?? this.defaultConfig(userId);
  }

  async configure(userId: string, body: z.output<typeof ConfigureStandbyBody>): Promise<StandbyConfigRow> {
    const current = await this.config(userId);
    if (body.machine_type !== undefined) assertMachineType(body.machine_type);
    const flag = (value: boolean | undefined, fallback: number) => (value === undefined ? fallback : value ? 1 : 0);
    const row: StandbyConfigRow = {
      user_id: userId,
      zone: body.zone ?? current.zone,
      machine_type: body.machine_type ?? current.machine_type,
      disk_gb: body.disk_gb ?? current.disk_gb,
      spot: flag(body.spot, current.spot),
      sync_interval_s: body.sync_interval_s ?? current.sync_interval_s,
      auto_standby: flag(body.auto_standby, current.auto_standby),
      auto_failover: flag(body.auto_failover, current.auto_failover),
      auto_recovery: flag(body.auto_recovery, current.auto_recovery),
      excludes: body.excludes !== undefined ? JSON.stringify(body.excludes) : current.excludes,
      updated_at: this.deps.now(),
    };
    await this.deps.standby.saveConfig(row);
    return row;
  }

  /**
   * Gives a GPU instance a standby. The CPU machine's name and the sync key are chosen here, so a
   * create that crashes half-way is found again by name; the key's private half is sealed at rest.
   */
  async provision(
    userId: string,
    body: z.output<typeof ProvisionStandbyBody>,
    actor = `user:${userId}`,
  ): Promise<StandbyAssociationRow> {
    const instance = await this.deps.instances.findOwned(userId, body.instance_id);
    if (!instance) throw notFound("instance", body.instance_id);
    if (!LIVE_INSTANCE.includes(instance.status)) {
      throw new DumontError({
        code: "INVALID_TRANSITION",
        message: `instance ${instance.id} is ${instance.status}: only a live instance can get a standby`,
      });
    }
    const existing = await this.deps.standby.liveForInstance(userId, instance.id);
    if (existing) {
      throw new DumontError({
        code: "INVALID_TRANSITION",
        message: `instance ${instance.id} already has standby ${existing.id} (${existing.status})`,
        details: { standby_id: existing.id, status: existing.status },
      });
    }
    const config = await this.config(userId);
    const machineType = body.machine_type ?? config.machine_type;
    assertMachineType(machineType);
    const spot = body.spot ?? config.spot === 1;
    // The standby holds the whole workspace: never smaller than the GPU's disk.
    const diskGb = Math.max(body.disk_gb ?? config.disk_gb, instance.disk_gb);
    const kind = await this.deps.standbyMarkets.kindFor(userId);
    const provider = await this.deps.standbyMarkets.providerFor(kind, userId);
    const id = `sb-${randomBytes(8).toString("hex")}`;
    const key = generateSshKeyPair(`dumont-standby-${id}`);
    const now = this.deps.now();
    const row: StandbyAssociationRow = {
      id,
      owner_id: userId,
      status: STANDBY_MACHINE.initial,
      lease_owner: null,
      lease_expires_at: null,
      next_run_at: now,
      created_at: now,
      updated_at: now,
      instance_id: instance.id,
      gpu_instance_id: instance.id,
      standby_market: kind,
      provider: provider.name,
      zone: body.zone ?? config.zone,
      machine_type: machineType,
      disk_gb: diskGb,
      spot: spot ? 1 : 0,
      vm_name: `dumont-${id}`,
      vm_ssh_host: null,
      vm_ssh_port: null,
      vm_host_key: null,
      create_attempted_at: null,
      vm_ready_at: null,
      price_per_hour: standbyHourlyPrice({ machineType, diskGb, spot }).hourly,
      active_role: "gpu",
      sync_interval_s: body.sync_interval_s ?? config.sync_interval_s,
      excludes: config.excludes,
      sync_key_private_sealed: this.deps.box.seal(key.privateKey),
      sync_key_public: key.publicKey,
      sync_key_installed_on: null,
      auto_failover: config.auto_failover,
      auto_recovery: config.auto_recovery,
      requested_action: null,
      keep_on_delete: 0,
      sync_count: 0,
      last_sync_at: null,
      last_sync_bytes: null,
      last_sync_files: null,
      last_sync_duration_ms: null,
      last_sync_error: null,
      standby_files: null,
      health_failures: 0,
      last_health_at: null,
      last_health_error: null,
      gpu_lost_at: null,
      failover_id: null,
      recovery_deployment_id: null,
      recovery_attempts: 0,
      active_since: now,
      error: null,
    };
    // A standby bills on a project the server pays for (or the simulated one): it counts against
    // the user's spending cap like a GPU on the server's marketplace account.
    await this.deps.spending.admit(userId, kind, row.price_per_hour, () =>
      this.deps.store.insertCreated("standby_associations", row, {
        reason: `standby ${machineType} in ${row.zone} for ${instance.id}`,
        actor,
      }),
    );
    this.deps.wake();
    return row;
  }

  /** The instance's standby when its owner's settings ask for one on every new GPU (`auto_standby`). */
  async provisionIfAutomatic(userId: string, instanceId: string, asked: boolean | undefined): Promise<void> {
    const wanted = asked ?? (await this.config(userId)).auto_standby === 1;
    if (wanted) await this.provision(userId, { instance_id: instanceId }, "standby:auto");
  }

  /** A race that asked for a standby gives its winner one (once: repeated calls find it). */
  async provisionForWinner(userId: string, instanceId: string, deploymentId: string): Promise<void> {
    if (await this.deps.standby.liveForInstance(userId, instanceId)) return;
    await this.provision(userId, { instance_id: instanceId }, `deployment:${deploymentId}`);
  }

  async get(userId: string, idOrInstance: string): Promise<StandbyAssociationRow> {
    const row = await this.deps.standby.findOwned(userId, idOrInstance);
    if (!row) throw notFound("standby association", idOrInstance);
    return row;
  }

  async act(userId: string, idOrInstance: string, action: StandbyAction): Promise<StandbyAssociationRow> {
    const row = await this.get(userId, idOrInstance);
    const allowed = ACTION_FROM[action];
    if (!allowed.includes(row.status as StandbyStatus)) {
      throw new DumontError({
        code: "INVALID_TRANSITION",
        message: `cannot ${action} standby ${row.id}: it is ${row.status} (${action} needs ${allowed.join(" or ")})`,
        details: { status: row.status, requested: action },
      });
    }
    await this.deps.standby.requestAction(userId, row.id, action, this.deps.now());
    await this.deps.nudge(row.id);
    return { ...row, requested_action: action };
  }

  async remove(userId: string, idOrInstance: string): Promise<StandbyAssociationRow> {
    const row = await this.get(userId, idOrInstance);
    if (row.status === "destroying" || STANDBY_MACHINE.terminal.includes(row.status as StandbyStatus)) return row;
    const updated = await this.deps.store.transitionOrThrow<StandbyStatus, StandbyAssociationRow>({
      table: "standby_associations",
      machine: STANDBY_MACHINE,
      id: row.id,
      ownerId: userId,
      from: ["provisioning", "syncing", "failover_active", "recovering", "disabled"],
      to: "destroying",
      reason: "standby deleted by user",
      actor: `user:${userId}`,
      nextRunInMs: 0,
      now: this.deps.now(),
    });
    this.deps.wake();
    return updated;
  }

  /**
   * The user deleted a GPU instance: its standby goes too, unless `keep` (then the controller makes
   * the standby the active machine, holding the workspace as of its last sync).
   */
  async onInstanceDeleted(userId: string, instanceId: string, keep: boolean): Promise<void> {
    const row = await this.deps.standby.liveForInstance(userId, instanceId);
    // Only the GPU now paired: deleting an instance a recovery already replaced leaves the standby.
    if (!row || row.status === "destroying" || row.gpu_instance_id !== instanceId) return;
    if (keep) {
      await this.deps.standby.setKeepOnDelete(row.id, true);
      await this.deps.nudge(row.id);
      return;
    }
    await this.remove(userId, row.id);
  }

  private defaultConfig(userId: string): StandbyConfigRow {
    return {
      user_id: userId,
      zone: STANDBY_DEFAULTS.zone,
      machine_type: STANDBY_DEFAULTS.machineType,
      disk_gb: STANDBY_DEFAULTS.diskGb,
      spot: STANDBY_DEFAULTS.spot ? 1 : 0,
      sync_interval_s: STANDBY_DEFAULTS.syncIntervalS,
      auto_standby: STANDBY_DEFAULTS.autoStandby ? 1 : 0,
      auto_failover: STANDBY_DEFAULTS.autoFailover ? 1 : 0,
      auto_recovery: STANDBY_DEFAULTS.autoRecovery ? 1 : 0,
      excludes: JSON.stringify(DEFAULT_SYNC_EXCLUDES),
      updated_at: 0,
    };
  }
}

function assertMachineType(machineType: string): void {
  if (!isKnownMachineType(machineType)) {
    throw new DumontError({
      code: "VALIDATION_FAILED",
      message: `unknown machine type ${machineType}; see \`dumont standby pricing\` for the known ones`,
    });
  }
}

import { type StandbyStatus } from "@dumont/core";
import type { InstanceRow, StandbyAssociationRow, StandbyConfigRow } from "@dumont/db";
import { gcpPriceTable, standbyHourlyPrice } from "@dumont/providers";
import type { HandlersFor } from "../http/handler-types";
import { iso, isoOrNull, type ServerContext } from "../server-context";
import { excludesOf } from "./association-link";
import type { StandbyMarketKind } from "./standby-markets";
import { failoverSummary, failoverView } from "./failover-report";

type Names =
  | "getStandbyConfig"
  | "configureStandby"
  | "getStandbyStatus"
  | "listStandbyAssociations"
  | "provisionStandby"
  | "getStandbyAssociation"
  | "deleteStandbyAssociation"
  | "standbyAction"
  | "listStandbySyncs"
  | "getStandbyPricing"
  | "listStandbyFailovers"
  | "getInstanceEndpoint";

export function standbyHandlers(ctx: ServerContext): HandlersFor<Names> {
  const simulated = async (row: StandbyAssociationRow) =>
    (await ctx.standbyMarkets.providerFor(row.standby_market as StandbyMarketKind, row.owner_id)).capabilities
      .simulated;
  const view = async (row: StandbyAssociationRow) => {
    const gpu = await ctx.repos.instances.findById(row.gpu_instance_id);
    return associationView(row, { gpu, simulated: await simulated(row), now: ctx.now() });
  };
  /** The provider a new standby of this user would get (none configured: the config still reads back). */
  const projectOf = async (userId: string) => {
    try {
      const p = await ctx.standbyMarkets.providerFor(await ctx.standbyMarkets.kindFor(userId), userId);
      return { provider: p.name, simulated: p.capabilities.simulated };
    } catch {
      return { provider: "none", simulated: false };
    }
  };
  const configView = async (row: StandbyConfigRow) => {
    const { provider, simulated: isSimulated } = await projectOf(row.user_id);
    return {
      zone: row.zone,
      machine_type: row.machine_type,
      disk_gb: row.disk_gb,
      spot: row.spot === 1,
      sync_interval_s: row.sync_interval_s,
      auto_standby: row.auto_standby === 1,
      auto_failover: row.auto_failover === 1,
      auto_recovery: row.auto_recovery === 1,
      excludes: JSON.parse(row.excludes) as string[],
      provider,
      simulated: isSimulated,
      estimated_hourly_usd: standbyHourlyPrice({
        machineType: row.machine_type,
        diskGb: row.disk_gb,
        spot: row.spot === 1,
      }).hourly,
    };
  };
  return {
    getStandbyConfig: async (_input, { principal }) => configView(await ctx.standby.config(principal.user.id)),
    configureStandby: async ({ body }, { principal }) =>
      configView(await ctx.standby.configure(principal.user.id, body)),
    getStandbyStatus: async (_input, { principal }) => {
      const userId = principal.user.id;
      const live = await ctx.repos.standby.listLive(userId);
      return {
        config: await configView(await ctx.standby.config(userId)),
        active_associations: live.length,
        failovers_in_progress: live.filter((r) => r.status === "recovering" || r.status === "failover_active").length,
        associations: await Promise.all(live.map(view)),
      };
    },
    listStandbyAssociations: async ({ query }, { principal }) => {
      const rows = await ctx.repos.standby.listOwned(principal.user.id, query);
      return { associations: await Promise.all(rows.map(view)), count: rows.length };
    },
    provisionStandby: async ({ body }, { principal }) => view(await ctx.standby.provision(principal.user.id, body)),
    getStandbyAssociation: async ({ params }, { principal }) =>
      view(await ctx.standby.get(principal.user.id, params.id)),
    deleteStandbyAssociation: async ({ params }, { principal }) =>
      view(await ctx.standby.remove(principal.user.id, params.id)),
    standbyAction: async ({ params, body }, { principal }) =>
      view(await ctx.standby.act(principal.user.id, params.id, body.action)),
    listStandbySyncs: async ({ params, query }, { principal }) => {
      const row = await ctx.standby.get(principal.user.id, params.id);
      const syncs = await ctx.repos.standby.syncs(row.id, query.limit);
      return {
        syncs: syncs.map((s) => ({
          direction: s.direction as "gpu_to_cpu" | "cpu_to_gpu",
          started_at: iso(s.started_at),
          duration_ms: s.duration_ms,
          bytes: s.bytes,
          files: s.files,
          ok: s.ok === 1,
          error: s.error,
        })),
      };
    },
    getStandbyPricing: async ({ query }, { principal }) => {
      const price = standbyHourlyPrice({ machineType: query.machine_type, diskGb: query.disk_gb, spot: query.spot });
      const table = gcpPriceTable();
      const isSimulated = (await projectOf(principal.user.id)).simulated;
      return {
        machine_type: query.machine_type,
        disk_gb: query.disk_gb,
        spot: query.spot,
        estimated_hourly_usd: price.hourly,
        estimated_monthly_usd: price.monthly,
        breakdown: { vm_hourly: price.vmHourly, disk_monthly: price.diskMonthly, vm_monthly: price.vmHourly * 730 },
        prices_as_of: table.as_of,
        prices_source: table.source.join(" "),
        simulated: isSimulated,
        machine_types: table.machine_types.map((m) => ({
          name: m.name,
          vcpus: m.vcpus,
          memory_gb: m.memory_gb,
          on_demand_hourly: m.on_demand_hourly,
          spot_hourly: m.spot_hourly,
        })),
      };
    },
    listStandbyFailovers: async ({ query }, { principal }) => {
      const userId = principal.user.id;
      const associationId = query.association_id ? (await ctx.standby.get(userId, query.association_id)).id : undefined;
      const rows = await ctx.repos.standby.failovers(userId, {
        since: ctx.now() - query.days * 86_400_000,
        associationId,
        limit: query.limit,
      });
      const instanceOf = new Map<string, string>();
      for (const row of rows) {
        if (!instanceOf.has(row.association_id)) {
          const association = await ctx.repos.standby.findOwned(userId, row.association_id);
          instanceOf.set(row.association_id, association?.instance_id ?? "");
        }
      }
      return {
        period_days: query.days,
        ...failoverSummary(rows),
        failovers: rows.map((r) => failoverView(r, instanceOf.get(r.association_id) ?? "")),
      };
    },
    getInstanceEndpoint: async ({ params }, { principal }) => {
      const userId = principal.user.id;
      const association = await ctx.repos.standby.liveForInstance(userId, params.id);
      const instance = association
        ? await ctx.repos.instances.findById(association.gpu_instance_id)
        : await ctx.instances.get(userId, params.id);
      const instanceSimulated = instance?.market === "embedded";
      if (association && association.active_role === "cpu") {
        return {
          role: "cpu" as const,
          instance_id: params.id,
          serving_instance_id: null,
          standby_id: association.id,
          ssh_host: association.vm_ssh_host,
          ssh_port: association.vm_ssh_port,
          ssh_user: "root",
          since: iso(association.active_since),
          simulated: await simulated(association),
        };
      }
      return {
        role: "gpu" as const,
        instance_id: params.id,
        serving_instance_id: instance?.id ?? null,
        standby_id: association?.id ?? null,
        ssh_host: instance?.status === "running" ? instance.ssh_host : null,
        ssh_port: instance?.status === "running" ? instance.ssh_port : null,
        ssh_user: "root",
        since: iso(association?.active_since ?? instance?.ready_at ?? instance?.created_at ?? ctx.now()),
        simulated: instanceSimulated || (association ? await simulated(association) : false),
      };
    },
  };
}

export function associationView(
  row: StandbyAssociationRow,
  facts: { gpu: InstanceRow | undefined; simulated: boolean; now: number },
) {
  const { gpu, now } = facts;
  const cpuActive = row.active_role === "cpu";
  // Billed from the create call until the provider confirmed it gone (its last update then).
  const end = row.status === "destroyed" || row.status === "failed" ? row.updated_at : now;
  const hours = row.create_attempted_at === null ? 0 : Math.max(0, end - row.create_attempted_at) / 3_600_000;
  return {
    id: row.id,
    status: row.status as StandbyStatus,
    instance_id: row.instance_id,
    gpu_instance_id: row.gpu_instance_id,
    provider: row.provider,
    simulated: facts.simulated,
    zone: row.zone,
    machine_type: row.machine_type,
    disk_gb: row.disk_gb,
    spot: row.spot === 1,
    vm_name: row.vm_name,
    cpu_ssh_host: row.vm_ssh_host,
    cpu_ssh_port: row.vm_ssh_port,
    active: {
      role: cpuActive ? ("cpu" as const) : ("gpu" as const),
      instance_id: cpuActive ? null : row.gpu_instance_id,
      ssh_host: cpuActive ? row.vm_ssh_host : (gpu?.ssh_host ?? null),
      ssh_port: cpuActive ? row.vm_ssh_port : (gpu?.ssh_port ?? null),
      ssh_user: "root",
      since: iso(row.active_since),
    },
    sync_interval_s: row.sync_interval_s,
    excludes: excludesOf(row),
    auto_failover: row.auto_failover === 1,
    auto_recovery: row.auto_recovery === 1,
    sync_count: row.sync_count,
    last_sync_at: isoOrNull(row.last_sync_at),
    last_sync_age_seconds: row.last_sync_at === null ? null : Math.round((now - row.last_sync_at) / 100) / 10,
    last_sync_bytes: row.last_sync_bytes,
    last_sync_files: row.last_sync_files,
    last_sync_duration_ms: row.last_sync_duration_ms,
    last_sync_error: row.last_sync_error,
    health_failures: row.health_failures,
    last_health_at: isoOrNull(row.last_health_at),
    gpu_lost_at: isoOrNull(row.gpu_lost_at),
    requested_action: row.requested_action,
    price_per_hour: row.price_per_hour,
    cost_usd: Math.round(hours * row.price_per_hour * 1_000_000) / 1_000_000,
    error: row.error ?? row.last_health_error,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

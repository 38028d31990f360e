import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, Timestamp, QueryBool } from "./common-schemas";
import { STANDBY_MACHINE } from "../standby/standby-machine";

/** What the seed excluded from every sync: caches, virtualenvs, dependency trees, temp files. */
export const DEFAULT_SYNC_EXCLUDES: readonly string[] = [
  ".cache/",
  "__pycache__/",
  "*.pyc",
  ".venv/",
  "venv/",
  "node_modules/",
  "*.tmp",
];

/** The fastest sync the controller allows (the seed's 30 s is the default). */
export const MIN_SYNC_INTERVAL_S = 5;
export const DEFAULT_SYNC_INTERVAL_S = 30;

/** A GCP zone: region-letter form, as GCP names them. */
const Zone = z
  .string()
  .regex(/^[a-z]+-[a-z]+[0-9]+-[a-z]$/, "a GCP zone like europe-west1-b")
  .max(40);
/** A GCP machine type name (the price data file says which are known). */
const MachineType = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,40}$/, "a machine type like e2-medium")
  .max(41);
/**
 * An rsync exclude pattern. Patterns are passed to rsync as separate arguments and written to an
 * exclude file, never into a shell line; still, only printable characters, no newlines, and no
 * leading dash (which rsync would read as an option).
 */
const ExcludePattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s-][^\n\r\0]*$/, "a pattern like node_modules/ or *.tmp (no leading dash, no newlines)");

export const StandbyConfig = z
  .object({
    zone: z.string(),
    machine_type: z.string(),
    disk_gb: z.number().int(),
    spot: z.boolean(),
    sync_interval_s: z.number().int(),
    auto_standby: z.boolean().describe("every new GPU instance gets a standby"),
    auto_failover: z.boolean(),
    auto_recovery: z.boolean(),
    excludes: z.array(z.string()),
    provider: z.string(),
    simulated: z.boolean(),
    estimated_hourly_usd: z.number().describe("machine + disk, from the price data file"),
  })
  .meta({ id: "StandbyConfig" });

export const ConfigureStandbyBody = z.object({
  zone: Zone.optional(),
  machine_type: MachineType.optional(),
  disk_gb: z.number().int().min(10).max(2000).optional(),
  spot: QueryBool.optional(),
  sync_interval_s: z.number().int().min(MIN_SYNC_INTERVAL_S).max(3600).optional(),
  auto_standby: QueryBool.optional(),
  auto_failover: QueryBool.optional(),
  auto_recovery: QueryBool.optional(),
  excludes: z.array(ExcludePattern).max(100).optional(),
});

const Endpoint = z.object({
  role: z.enum(["gpu", "cpu"]),
  instance_id: z.string().nullable().describe("the GPU instance serving it (null when the CPU standby is active)"),
  ssh_host: z.string().nullable(),
  ssh_port: z.number().int().nullable(),
  ssh_user: z.string(),
  since: Timestamp,
});

export const StandbyAssociation = z
  .object({
    id: z.string(),
    status: z.enum(STANDBY_MACHINE.statuses),
    instance_id: z.string().describe("the instance you asked to protect; its endpoint follows the active machine"),
    gpu_instance_id: z.string().describe("the GPU instance now paired (changes after a recovery)"),
    provider: z.string(),
    simulated: z.boolean(),
    zone: z.string(),
    machine_type: z.string(),
    disk_gb: z.number().int(),
    spot: z.boolean(),
    vm_name: z.string(),
    cpu_ssh_host: z.string().nullable(),
    cpu_ssh_port: z.number().int().nullable(),
    active: Endpoint,
    sync_interval_s: z.number().int(),
    excludes: z.array(z.string()),
    auto_failover: z.boolean(),
    auto_recovery: z.boolean(),
    sync_count: z.number().int(),
    last_sync_at: Timestamp.nullable(),
    last_sync_age_seconds: z.number().nullable(),
    last_sync_bytes: z.number().nullable().describe("bytes sent by the last sync"),
    last_sync_files: z.number().int().nullable().describe("files the last sync transferred"),
    last_sync_duration_ms: z.number().int().nullable(),
    last_sync_error: z.string().nullable(),
    health_failures: z.number().int().describe("consecutive failed GPU health checks"),
    last_health_at: Timestamp.nullable(),
    gpu_lost_at: Timestamp.nullable(),
    requested_action: z.string().nullable(),
    price_per_hour: z.number().describe("the standby's $/h (machine + disk)"),
    cost_usd: z.number().describe("what the standby has cost so far"),
    error: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "StandbyAssociation" });

export const FailoverPhases = z.record(z.string(), z.number()).describe("phase → milliseconds, measured");

export const StandbyFailover = z
  .object({
    id: z.string(),
    association_id: z.string(),
    instance_id: z.string(),
    kind: z.enum(["automatic", "planned", "recovery", "failback"]),
    reason: z.string(),
    started_at: Timestamp,
    completed_at: Timestamp.nullable(),
    success: z.boolean().nullable().describe("null while in progress"),
    error: z.string().nullable(),
    phases_ms: FailoverPhases,
    total_ms: z.number().nullable(),
    from_instance_id: z.string().nullable(),
    to_instance_id: z.string().nullable(),
    data_age_ms: z.number().nullable().describe("age of the newest change the standby had not received"),
  })
  .meta({ id: "StandbyFailover" });

export const InstanceEndpoint = z
  .object({
    ...Endpoint.shape,
    instance_id: z.string().describe("the instance asked about"),
    serving_instance_id: z.string().nullable().describe("the GPU instance serving it; null when the CPU standby is"),
    standby_id: z.string().nullable(),
    simulated: z.boolean(),
  })
  .meta({ id: "InstanceEndpoint" });

const AssociationList = z.object({ associations: z.array(StandbyAssociation), count: z.number().int() });

export const ProvisionStandbyBody = z.object({
  instance_id: z.string().min(1).max(64),
  zone: Zone.optional(),
  machine_type: MachineType.optional(),
  disk_gb: z.number().int().min(10).max(2000).optional(),
  spot: QueryBool.optional(),
  sync_interval_s: z.number().int().min(MIN_SYNC_INTERVAL_S).max(3600).optional(),
});

export const standbyRoutes = {
  getStandbyConfig: defineRoute({
    method: "GET",
    path: "/api/v1/standby/config",
    summary: "Your CPU standby settings (defaults until you configure them)",
    tag: "standby",
    auth: true,
    successStatus: 200,
    response: StandbyConfig,
  }),
  configureStandby: defineRoute({
    method: "PUT",
    path: "/api/v1/standby/config",
    summary: "Change your CPU standby settings (applies to standbys created afterwards)",
    tag: "standby",
    auth: true,
    successStatus: 200,
    body: ConfigureStandbyBody,
    response: StandbyConfig,
  }),
  getStandbyStatus: defineRoute({
    method: "GET",
    path: "/api/v1/standby/status",
    summary: "Your standby configuration and every live association",
    tag: "standby",
    auth: true,
    successStatus: 200,
    response: z.object({
      config: StandbyConfig,
      active_associations: z.number().int(),
      failovers_in_progress: z.number().int(),
      associations: z.array(StandbyAssociation),
    }),
  }),
  listStandbyAssociations: defineRoute({
    method: "GET",
    path: "/api/v1/standby/associations",
    summary: "Your standby associations, newest first",
    tag: "standby",
    auth: true,
    successStatus: 200,
    query: z.object({
      status: z.enum(STANDBY_MACHINE.statuses).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: AssociationList,
  }),
  provisionStandby: defineRoute({
    method: "POST",
    path: "/api/v1/standby/associations",
    summary: "Give a GPU instance a CPU standby kept in sync",
    tag: "standby",
    auth: true,
    successStatus: 201,
    body: ProvisionStandbyBody,
    response: StandbyAssociation,
  }),
  getStandbyAssociation: defineRoute({
    method: "GET",
    path: "/api/v1/standby/associations/{id}",
    summary: "One association (by its id or by the instance's id)",
    tag: "standby",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: StandbyAssociation,
  }),
  deleteStandbyAssociation: defineRoute({
    method: "DELETE",
    path: "/api/v1/standby/associations/{id}",
    summary: "Destroy the standby machine (the GPU instance is left alone)",
    tag: "standby",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: StandbyAssociation,
  }),
  standbyAction: defineRoute({
    method: "POST",
    path: "/api/v1/standby/associations/{id}/actions",
    summary:
      "failover (planned: final sync, then the CPU takes over), recover (a new or resumed GPU), failback (back to the original GPU), disable / enable sync",
    tag: "standby",
    auth: true,
    successStatus: 200,
    params: IdParams,
    body: z.object({ action: z.enum(["failover", "recover", "failback", "disable", "enable"]) }),
    response: StandbyAssociation,
  }),
  listStandbySyncs: defineRoute({
    method: "GET",
    path: "/api/v1/standby/associations/{id}/syncs",
    summary: "The association's recent syncs (time, bytes, files, duration), newest first",
    tag: "standby",
    auth: true,
    successStatus: 200,
    params: IdParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
    response: z.object({
      syncs: z.array(
        z.object({
          direction: z.enum(["gpu_to_cpu", "cpu_to_gpu"]),
          started_at: Timestamp,
          duration_ms: z.number().int(),
          bytes: z.number(),
          files: z.number().int(),
          ok: z.boolean(),
          error: z.string().nullable(),
        }),
      ),
    }),
  }),
  getStandbyPricing: defineRoute({
    method: "GET",
    path: "/api/v1/standby/pricing",
    summary: "What a standby costs, from the price data file (its date and source included)",
    tag: "standby",
    auth: true,
    successStatus: 200,
    query: z.object({
      machine_type: MachineType.default("e2-medium"),
      disk_gb: z.coerce.number().int().min(10).max(2000).default(100),
      spot: QueryBool.default(true),
    }),
    response: z.object({
      machine_type: z.string(),
      disk_gb: z.number().int(),
      spot: z.boolean(),
      estimated_hourly_usd: z.number(),
      estimated_monthly_usd: z.number(),
      breakdown: z.object({ vm_hourly: z.number(), disk_monthly: z.number(), vm_monthly: z.number() }),
      prices_as_of: z.string(),
      prices_source: z.string(),
      simulated: z.boolean(),
      machine_types: z.array(
        z.object({
          name: z.string(),
          vcpus: z.number(),
          memory_gb: z.number(),
          on_demand_hourly: z.number(),
          spot_hourly: z.number(),
        }),
      ),
    }),
  }),
  listStandbyFailovers: defineRoute({
    method: "GET",
    path: "/api/v1/standby/failovers",
    summary: "Failovers, migrations and recoveries with measured phases, and their MTTR and success rate",
    tag: "standby",
    auth: true,
    successStatus: 200,
    query: z.object({
      days: z.coerce.number().int().min(1).max(365).default(30),
      association_id: z.string().min(1).max(64).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: z.object({
      period_days: z.number().int(),
      total: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      in_progress: z.number().int(),
      success_rate: z.number().nullable(),
      mttr_ms: z
        .number()
        .nullable()
        .describe("mean time from GPU lost to the workspace back on a GPU, automatic failovers"),
      mean_rto_ms: z.number().nullable().describe("mean time from GPU lost to the CPU serving the workspace"),
      mean_phases_ms: FailoverPhases,
      failovers: z.array(StandbyFailover),
    }),
  }),
  getInstanceEndpoint: defineRoute({
    method: "GET",
    path: "/api/v1/instances/{id}/endpoint",
    summary: "Which machine serves the instance's workspace now (the GPU, or its CPU standby after a failover)",
    tag: "instances",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: InstanceEndpoint,
  }),
} as const;

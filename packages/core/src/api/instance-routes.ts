import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, SuccessBody, Timestamp, QueryBool } from "./common-schemas";
import { INSTANCE_MACHINE } from "../instance/instance-machine";
import { GpuNameInput, RegionFilter } from "./offer-filters";

/** The disk an instance gets unless told otherwise, and the disk offer prices include by default. */
export const DEFAULT_DISK_GB = 50;

export const SPEED_TIERS = {
  slow: { minMbps: 100, maxMbps: 500 },
  medium: { minMbps: 500, maxMbps: 2000 },
  fast: { minMbps: 2000, maxMbps: 4000 },
  ultra: { minMbps: 4000, maxMbps: undefined },
} as const;
export type SpeedTier = keyof typeof SPEED_TIERS;

export const OffersQuery = z.object({
  gpu_name: GpuNameInput.optional(),
  num_gpus: z.coerce.number().int().min(1).max(16).optional(),
  min_gpu_ram: z.coerce.number().min(0).max(1024).optional().describe("GB per GPU"),
  max_price: z.coerce.number().positive().max(1000).optional().describe("$/h"),
  region: RegionFilter.optional(),
  min_reliability: z.coerce.number().min(0).max(1).optional(),
  verified_only: QueryBool.optional(),
  machine_type: z.enum(["on-demand", "interruptible"]).default("on-demand"),
  speed: z.enum(["slow", "medium", "fast", "ultra"]).optional().describe("download bandwidth tier"),
  min_disk: z.coerce.number().min(0).max(100_000).optional().describe("GB"),
  disk_size: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(DEFAULT_DISK_GB)
    .describe("GB of disk the prices include: the disk you will rent (instance create's default)"),
  preset: z.enum(["test"]).optional().describe("test = under $0.10/h, US/EU/BR/CA, reliability ≥ 0.90, cheapest first"),
  include_blacklisted: QueryBool.default(false).describe("also show hosts on your blacklist (annotated)"),
  order: z.enum(["price", "score"]).default("price"),
  limit: z.coerce.number().int().min(1).max(500).default(20),
});

export const OfferView = z
  .object({
    id: z.string(),
    provider: z.string(),
    machine_id: z.string(),
    gpu_name: z.string(),
    num_gpus: z.number(),
    gpu_ram: z.number().describe("GB per GPU"),
    cpu_cores: z.number().nullable(),
    cpu_ram: z.number().nullable().describe("GB"),
    disk_space: z.number().describe("GB"),
    inet_down: z.number(),
    inet_up: z.number(),
    dph_total: z
      .number()
      .describe(
        "$/h the machine bills at with priced_disk_gb of disk: compute (the minimum bid for interruptible offers) + storage",
      ),
    priced_disk_gb: z.number().nullable().describe("the disk (GB) dph_total includes; null = the market's default"),
    storage_cost: z.number().nullable().describe("$ per GB per month of disk on this host"),
    min_bid: z.number().nullable().describe("$/h, compute only (storage is billed on top)"),
    geolocation: z.string(),
    reliability: z.number(),
    verified: z.boolean(),
    cuda_version: z.string().nullable(),
    is_blacklisted: z.boolean(),
    blacklist_reason: z.string().nullable(),
    success_rate: z.number().nullable().describe("our history with this host; null = never tried"),
    total_attempts: z.number().int(),
    reliability_status: z.enum(["unknown", "excellent", "good", "fair", "poor"]),
  })
  .meta({ id: "Offer" });

export const MarketInfo = z.object({
  provider: z.string(),
  simulated: z.boolean(),
  note: z.string(),
});

export const Instance = z
  .object({
    id: z.string(),
    status: z.enum(INSTANCE_MACHINE.statuses),
    provider: z.string(),
    simulated: z.boolean(),
    machine_id: z.string().nullable().describe("The marketplace's id for the machine"),
    offer_id: z.string(),
    label: z.string(),
    gpu_name: z.string(),
    num_gpus: z.number(),
    dph_total: z.number().describe("$/h it bills at: compute + storage for its own disk"),
    interruptible: z.boolean(),
    image: z.string(),
    disk_gb: z.number(),
    geolocation: z.string().nullable(),
    ssh_host: z.string().nullable(),
    ssh_port: z.number().nullable(),
    ssh_command: z.string().nullable(),
    status_message: z.string().nullable(),
    error: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    ready_at: Timestamp.nullable(),
    uptime_seconds: z
      .number()
      .nullable()
      .describe(
        "seconds billed so far, from the create call to now or to its confirmed destroy; null = not rented yet",
      ),
    cost_usd: z
      .number()
      .describe("what it has cost so far: uptime × dph_total (paused time counted at the same price)"),
  })
  .meta({ id: "Instance" });

export const CreateInstanceBody = z.object({
  offer_id: z.string().min(1).max(64),
  image: z.string().min(1).max(300).default("pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime"),
  disk_size: z.number().int().min(1).max(100_000).default(DEFAULT_DISK_GB).describe("GB"),
  label: z.string().max(100).optional().describe("Your own name for it (ours is always dumont:<installation>:<id>)"),
  bid_price: z.number().positive().max(1000).optional().describe("$/h; makes the machine interruptible"),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(10_000)).optional(),
  onstart: z.string().max(4000).optional(),
  standby: z
    .boolean()
    .optional()
    .describe("give it a CPU standby kept in sync (default: your standby config's auto_standby)"),
});

export const SshKeyView = z
  .object({ id: z.string(), name: z.string(), fingerprint: z.string(), public_key: z.string(), created_at: Timestamp })
  .meta({ id: "SshKey" });

/** Where a key change reached the user's existing machines. */
const KeyOnMachines = z.object({
  updated: z.array(z.string()).describe("Instances that took the change at once"),
  not_updated: z
    .array(z.object({ instance_id: z.string(), reason: z.string() }))
    .describe("Instances the change did not reach, and why"),
});

export const instanceRoutes = {
  listOffers: defineRoute({
    method: "GET",
    path: "/api/v1/instances/offers",
    summary: "Search GPU offers (filters re-checked on our side)",
    tag: "instances",
    auth: true,
    successStatus: 200,
    query: OffersQuery,
    response: z.object({
      offers: z.array(OfferView),
      count: z.number().int(),
      market: MarketInfo,
      empty_reason: z
        .string()
        .nullable()
        .describe("when nothing matched: which filter left none (defaults included), with the counts before it"),
    }),
  }),
  createInstance: defineRoute({
    method: "POST",
    path: "/api/v1/instances",
    summary: "Rent an offer; the machine boots in the background (watch status or events)",
    tag: "instances",
    auth: true,
    successStatus: 201,
    body: CreateInstanceBody,
    response: Instance,
  }),
  listInstances: defineRoute({
    method: "GET",
    path: "/api/v1/instances",
    summary: "Your instances (destroyed ones only with status=destroyed)",
    tag: "instances",
    auth: true,
    successStatus: 200,
    query: z.object({ status: z.enum(INSTANCE_MACHINE.statuses).optional() }),
    response: z.object({ instances: z.array(Instance), count: z.number().int() }),
  }),
  getInstance: defineRoute({
    method: "GET",
    path: "/api/v1/instances/{id}",
    summary: "One instance",
    tag: "instances",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Instance,
  }),
  pauseInstance: defineRoute({
    method: "POST",
    path: "/api/v1/instances/{id}/pause",
    summary: "Stop the machine, keeping its disk (storage still bills)",
    tag: "instances",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Instance,
  }),
  resumeInstance: defineRoute({
    method: "POST",
    path: "/api/v1/instances/{id}/resume",
    summary: "Start a paused machine again",
    tag: "instances",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Instance,
  }),
  deleteInstance: defineRoute({
    method: "DELETE",
    path: "/api/v1/instances/{id}",
    summary:
      "Destroy the machine (confirmed with the marketplace before it reads destroyed); its CPU standby goes too unless keep_standby",
    tag: "instances",
    auth: true,
    successStatus: 200,
    params: IdParams,
    query: z.object({
      keep_standby: QueryBool.default(false).describe("keep the CPU standby, which then serves the workspace"),
    }),
    response: Instance,
  }),
  installModel: defineRoute({
    method: "POST",
    path: "/api/v1/instances/{id}/models",
    summary: "Install Ollama on a running instance (when missing) and pull a model",
    tag: "instances",
    auth: true,
    successStatus: 200,
    params: IdParams,
    body: z.object({
      model: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "an Ollama model name such as llama3.2:1b or qwen2.5:0.5b"),
    }),
    response: z.object({
      success: z.boolean(),
      model: z.string(),
      ollama_installed_now: z.boolean(),
      error: z
        .string()
        .nullable()
        .describe("Why the install failed (the step and the machine's last line); null on success"),
      output: z.string().describe("What the install and pull printed (last 20 kB)"),
      duration_seconds: z.number(),
      simulated: z.boolean().describe("the instance is on the simulated local marketplace"),
    }),
  }),
  addSshKey: defineRoute({
    method: "POST",
    path: "/api/v1/ssh-keys",
    summary: "Register a public key that every machine accepts for root (attached to running ones too)",
    tag: "ssh-keys",
    auth: true,
    successStatus: 201,
    body: z.object({ name: z.string().trim().min(1).max(100), public_key: z.string().trim().min(20).max(16_000) }),
    response: SshKeyView.extend({ machines: KeyOnMachines }),
  }),
  listSshKeys: defineRoute({
    method: "GET",
    path: "/api/v1/ssh-keys",
    summary: "Your registered public keys",
    tag: "ssh-keys",
    auth: true,
    successStatus: 200,
    response: z.object({ ssh_keys: z.array(SshKeyView), count: z.number().int() }),
  }),
  removeSshKey: defineRoute({
    method: "DELETE",
    path: "/api/v1/ssh-keys/{id}",
    summary: "Remove a public key (detached from running machines too)",
    tag: "ssh-keys",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: SuccessBody.extend({ machines: KeyOnMachines }),
  }),
} as const;

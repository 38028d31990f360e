import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, Timestamp } from "./common-schemas";
import { DEPLOYMENT_MACHINE, DEPLOY_STRATEGIES, WIZARD_DEFAULTS } from "../wizard/deployment-machine";
import { INSTANCE_MACHINE } from "../instance/instance-machine";
import { GpuNameFilter, GpuNameInput, RegionFilter } from "./offer-filters";

/**
 * A deployment's configuration as stored and shown. Its region is plain text so rows written
 * before regions were checked at create still read back; new requests go through DeployBody.
 */
export const DeployConfig = z.object({
  gpu_name: GpuNameFilter.optional(),
  num_gpus: z.number().int().min(1).max(16).default(1),
  speed: z.enum(["slow", "medium", "fast", "ultra", "any"]).default(WIZARD_DEFAULTS.speed),
  max_price: z.number().positive().max(1000).default(WIZARD_DEFAULTS.maxPrice),
  region: z.string().max(200).default(WIZARD_DEFAULTS.region),
  machine_type: z.enum(["on-demand", "interruptible"]).default("on-demand"),
  bid_price: z
    .number()
    .positive()
    .max(1000)
    .optional()
    .describe("interruptible only; default: 1.2 × the offer's minimum bid"),
  disk_size: z.number().int().min(1).max(100_000).default(WIZARD_DEFAULTS.diskGb),
  image: z.string().min(1).max(300).default("pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime"),
  strategy: z.enum(DEPLOY_STRATEGIES).default("race"),
  batch_size: z.number().int().min(1).max(20).default(WIZARD_DEFAULTS.batchSize),
  max_batches: z.number().int().min(1).max(10).default(WIZARD_DEFAULTS.maxBatches),
  batch_timeout_seconds: z.number().int().min(1).max(3600).default(WIZARD_DEFAULTS.batchTimeoutSeconds),
  min_reliability: z.number().min(0).max(1).optional(),
  exclude_hosts: z
    .array(z.string().min(1).max(64))
    .max(100)
    .optional()
    .describe("host machine ids never to rent from (a standby recovery leaves out the host it lost)"),
  standby: z
    .boolean()
    .optional()
    .describe("give the winner a CPU standby kept in sync (default: your standby config's auto_standby)"),
});

/** A new deployment: the region and the GPU name are checked exactly as the offers search checks them. */
export const DeployBody = DeployConfig.extend({
  gpu_name: GpuNameInput.optional(),
  region: RegionFilter.default(WIZARD_DEFAULTS.region),
});

export const Candidate = z.object({
  instance_id: z.string(),
  offer_id: z.string(),
  host_id: z.string().nullable(),
  batch: z.number().int(),
  gpu_name: z.string(),
  dph_total: z.number().describe("$/h, compute + storage for its disk"),
  status: z.enum(INSTANCE_MACHINE.statuses),
  error: z.string().nullable(),
  seconds: z.number().nullable().describe("billed: create call → confirmed destroy (or now); null = not rented yet"),
  cost_usd: z.number(),
});

export const Deployment = z
  .object({
    id: z.string(),
    status: z.enum(DEPLOYMENT_MACHINE.statuses),
    strategy: z.enum(DEPLOY_STRATEGIES),
    config: DeployConfig,
    progress: z.object({
      batch: z.number().int(),
      offers_found: z.number().int(),
      tried: z.number().int(),
      created: z.number().int(),
      destroyed: z.number().int(),
    }),
    candidates: z.array(Candidate),
    winner_instance_id: z.string().nullable(),
    ssh_command: z.string().nullable(),
    time_to_ready_seconds: z.number().nullable(),
    error: z.string().nullable(),
    simulated: z.boolean(),
    total_cost_usd: z.number().describe("every candidate rented so far, each at its own price"),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Deployment" });

const TierPreview = z.object({
  count: z.number().int(),
  min_price: z.number().nullable(),
  max_price: z.number().nullable(),
  avg_speed: z.number().nullable(),
  gpus: z.array(z.string()),
});

export const wizardRoutes = {
  wizardDeploy: defineRoute({
    method: "POST",
    path: "/api/v1/wizard/deploy",
    summary: "Race several offers and keep the first machine that is really ready",
    tag: "wizard",
    auth: true,
    successStatus: 201,
    body: DeployBody,
    response: Deployment,
  }),
  listDeployments: defineRoute({
    method: "GET",
    path: "/api/v1/wizard/deployments",
    summary: "Your deployments, newest first",
    tag: "wizard",
    auth: true,
    successStatus: 200,
    response: z.object({ deployments: z.array(Deployment), count: z.number().int() }),
  }),
  getDeployment: defineRoute({
    method: "GET",
    path: "/api/v1/wizard/deployments/{id}",
    summary: "A deployment with live race progress",
    tag: "wizard",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Deployment,
  }),
  cancelDeployment: defineRoute({
    method: "POST",
    path: "/api/v1/wizard/deployments/{id}/cancel",
    summary: "Stop the race and destroy every machine it rented (the winner too)",
    tag: "wizard",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Deployment,
  }),
  wizardOffers: defineRoute({
    method: "GET",
    path: "/api/v1/wizard/offers",
    summary: "Preview of the offers per speed tier",
    tag: "wizard",
    auth: true,
    successStatus: 200,
    query: z.object({
      gpu_name: GpuNameInput.optional(),
      region: RegionFilter.default("global"),
      max_price: z.coerce.number().positive().max(1000).default(WIZARD_DEFAULTS.maxPrice),
    }),
    response: z.object({
      total_offers: z.number().int(),
      tiers: z.object({ slow: TierPreview, medium: TierPreview, fast: TierPreview, ultra: TierPreview }),
      simulated: z.boolean(),
    }),
  }),
  wizardConfig: defineRoute({
    method: "GET",
    path: "/api/v1/wizard/config",
    summary: "Speed tiers, regions, defaults and limits of the wizard",
    tag: "wizard",
    auth: true,
    successStatus: 200,
    response: z.object({
      speed_tiers: z.array(z.object({ id: z.string(), min_speed: z.number(), max_speed: z.number().nullable() })),
      regions: z.array(z.string()),
      strategies: z.array(z.string()),
      defaults: z.record(z.string(), z.union([z.string(), z.number()])),
      scoring: z.string(),
    }),
  }),
} as const;

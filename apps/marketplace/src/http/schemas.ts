import { z } from "zod";

/** Vast clients send numbers as JSON numbers or numeric strings; both are accepted. */
export const numeric = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, "must be a number")
    .transform(Number),
]);

const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);

/** `PUT /api/v0/asks/{id}/` (vast-api.md §3.2); unknown fields are allowed and ignored. */
export const CreateInstanceBody = z.looseObject({
  client_id: z.union([z.string(), z.number()]).optional(),
  image: z.string().trim().min(1).optional(),
  template_hash_id: z.string().nullable().optional(),
  disk: numeric.pipe(z.number().positive().max(100_000)).optional(),
  label: z.string().max(1024).nullable().optional(),
  onstart: z.string().nullable().optional(),
  args: z.array(z.string()).nullable().optional(),
  args_str: z.string().nullable().optional(),
  // A Docker-flag string is accepted but, as on Vast, not applied to instances.
  env: z
    .union([z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), z.string(), z.null()])
    .optional(),
  price: numeric.nullable().optional(),
  cancel_unavail: flag.nullable().optional(),
  target_state: z.enum(["running", "stopped"]).optional(),
  runtype: z.string().optional(),
  image_login: z.string().nullable().optional(),
  vm: flag.optional(),
  force: flag.optional(),
  user: z.string().nullable().optional(),
});

/** `PUT /api/v0/instances/{id}/`. */
export const ChangeInstanceBody = z.looseObject({
  state: z.enum(["running", "stopped"]).optional(),
  label: z.string().max(1024).nullable().optional(),
});

export const BidBody = z.looseObject({
  client_id: z.union([z.string(), z.number()]).optional(),
  price: numeric,
});

export const SshKeyBody = z.looseObject({ ssh_key: z.string().trim().min(1) });

export const FAULT_KINDS = [
  "boot_failure",
  "outbid",
  "host_offline",
  "host_online",
  "ssh_drop",
  "gpu_taken",
  "gpu_free",
  "exit",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const SimFaultBody = z.object({
  kind: z.enum(FAULT_KINDS),
  /** gpu_taken: how long the other renter keeps the GPUs (simulated seconds). */
  duration_s: z.number().positive().optional(),
});

export const SimGpuBody = z.object({
  utilization: z.number().min(0).max(100),
  memory_used_mb: z.number().min(0).optional(),
});

export const SimApiFaultsBody = z.object({
  rate_429: z.number().min(0).max(1).optional(),
  rate_5xx: z.number().min(0).max(1).optional(),
  /** Share of successful creates whose answer is replaced by a 504 (the instance exists). */
  rate_lost_create: z.number().min(0).max(1).optional(),
});

export const SimCreditBody = z.object({ credit: z.number().finite() });

export const SimBootFailureBody = z.object({ probability: z.number().min(0).max(1) });

export const SimClockBody = z.object({
  seconds: z
    .number()
    .min(0)
    .max(365 * 86_400),
});

export const SimAccountBody = z.object({
  api_key: z.string().min(8).max(200).optional(),
  credit: z.number().finite().optional(),
  email: z.string().email().optional(),
});

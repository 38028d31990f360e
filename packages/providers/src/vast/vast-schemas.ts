import { z } from "zod";

// Vast returns null for almost any field on some hosts, and numbers as strings now and then:
// parse loosely at the boundary, then code inside trusts the mapped types.
const num = z.coerce.number().nullable().catch(null);
const str = z.string().nullable().catch(null);
const bool = z.boolean().nullable().catch(null);

export const VastOffer = z.looseObject({
  id: z.coerce.number(),
  ask_contract_id: num.optional(),
  machine_id: num,
  gpu_name: z.string().catch("unknown"),
  num_gpus: num,
  gpu_ram: num.describe("MB per GPU"),
  cpu_cores: num.optional(),
  cpu_cores_effective: num.optional(),
  cpu_ram: num.optional().describe("MB"),
  disk_space: num.describe("GB"),
  inet_down: num,
  inet_up: num,
  dph_total: num,
  dph_base: num.optional(),
  storage_cost: num.optional().describe("$ per GB per month"),
  min_bid: num.optional(),
  geolocation: str.optional(),
  reliability2: num.optional(),
  reliability: num.optional(),
  verified: bool.optional(),
  verification: str.optional(),
  cuda_max_good: num.optional(),
  rentable: bool.optional(),
});
export type VastOffer = z.infer<typeof VastOffer>;

export const VastPortBinding = z.array(z.looseObject({ HostIp: z.string().optional(), HostPort: z.coerce.number() }));

export const VastInstance = z.looseObject({
  id: z.coerce.number(),
  label: str.optional(),
  machine_id: num.optional(),
  actual_status: str.optional(),
  intended_status: str.optional(),
  cur_state: str.optional(),
  next_state: str.optional(),
  status_msg: str.optional(),
  is_bid: bool.optional(),
  gpu_name: str.optional(),
  num_gpus: num.optional(),
  dph_total: num.optional(),
  geolocation: str.optional(),
  public_ipaddr: str.optional(),
  ssh_host: str.optional(),
  ssh_port: num.optional(),
  ports: z.record(z.string(), VastPortBinding.nullable()).nullable().optional().catch(null),
});
export type VastInstance = z.infer<typeof VastInstance>;

export const VastCreateReply = z.looseObject({
  success: z.boolean().optional(),
  new_contract: z.coerce.number().optional(),
  error: z.string().optional(),
  msg: z.string().optional(),
});

export const VastInstanceList = z.looseObject({
  instances: z.array(z.unknown()).nullable().default([]),
  next_token: z.string().nullable().optional(),
});

export const VastUser = z.looseObject({
  credit: z.coerce.number().catch(0),
  balance: z.coerce.number().catch(0),
  balance_threshold: z.coerce.number().nullable().catch(0),
  email: z.string().nullable().catch(null),
});

/** `GET /instances/{id}/ssh/`: the list arrives as a JSON-encoded string (vast-api.md §3.13 #10). */
export const VastInstanceSshKeys = z.looseObject({
  ssh_keys: z
    .union([z.string(), z.array(z.unknown())])
    .nullable()
    .optional()
    .transform((value): unknown => (typeof value === "string" ? safeJson(value) : (value ?? []))),
});

export const VastAttachedKey = z.looseObject({
  id: z.union([z.number(), z.string()]),
  public_key: z.string().nullable().optional(),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return [];
  }
}

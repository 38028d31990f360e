import { z } from "zod";

// Shapes of the Compute Engine replies we read. Loose objects (GCP adds fields all the time);
// optional fields fall back instead of failing, so one odd instance cannot hide the others.

/** `{error: {code, message, status, errors: [{reason, message}]}}`, GCP's JSON error body. */
export const GcpErrorBody = z.looseObject({
  error: z.looseObject({
    code: z.number().optional().catch(undefined),
    message: z.string().optional().catch(undefined),
    status: z.string().optional().catch(undefined),
    errors: z
      .array(
        z.looseObject({
          reason: z.string().optional().catch(undefined),
          message: z.string().optional().catch(undefined),
        }),
      )
      .optional()
      .catch(undefined),
  }),
});
export type GcpErrorBody = z.infer<typeof GcpErrorBody>;

/** The token endpoint's OAuth2 error (`{error: "invalid_grant", error_description}`). */
export const OAuthErrorBody = z.looseObject({
  error: z.string(),
  error_description: z.string().optional().catch(undefined),
});

export const OAuthTokenReply = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().max(86_400).catch(3599),
  token_type: z.string().optional().catch(undefined),
});

export const GcpOperation = z.looseObject({
  name: z.string().min(1),
  status: z.enum(["PENDING", "RUNNING", "DONE"]),
  operationType: z.string().optional().catch(undefined),
  targetLink: z.string().optional().catch(undefined),
  error: z
    .looseObject({
      errors: z
        .array(z.looseObject({ code: z.string().catch("UNKNOWN"), message: z.string().optional().catch(undefined) }))
        .catch([]),
    })
    .optional()
    .catch(undefined),
});
export type GcpOperation = z.infer<typeof GcpOperation>;

const AccessConfig = z.looseObject({
  natIP: z.string().min(1).optional().catch(undefined),
  /** [EXT] The local emulation's SSH port; real GCP has no such field (SSH is on 22). */
  sshPort: z.number().int().min(1).max(65_535).optional().catch(undefined),
});

export const GcpInstance = z.looseObject({
  name: z.string().min(1),
  zone: z.string().catch(""),
  machineType: z.string().catch(""),
  status: z.string().catch("UNKNOWN"),
  statusMessage: z.string().optional().catch(undefined),
  creationTimestamp: z.string().optional().catch(undefined),
  labels: z.record(z.string(), z.string()).catch({}).default({}),
  scheduling: z
    .looseObject({
      provisioningModel: z.string().optional().catch(undefined),
      preemptible: z.boolean().optional().catch(undefined),
    })
    .catch({})
    .default({}),
  networkInterfaces: z
    .array(z.looseObject({ accessConfigs: z.array(AccessConfig).catch([]).default([]) }))
    .catch([])
    .default([]),
});
export type GcpInstance = z.infer<typeof GcpInstance>;

/** One page of `aggregated/instances`: instances grouped by `zones/<zone>` (or a warning there). */
export const GcpAggregatedInstances = z.looseObject({
  items: z
    .record(z.string(), z.looseObject({ instances: z.array(z.unknown()).catch([]).default([]) }))
    .catch({})
    .default({}),
  nextPageToken: z.string().optional().catch(undefined),
});

/**
 * The closed list of error codes Dumont Cloud returns, each with its HTTP status and a one-line meaning.
 * Clients (CLI, dashboard, extension) branch on `code`, never on message text, so a code is a
 * stable contract: add new ones, never rename or reuse one.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, meaning: "A field is missing, has the wrong type or is out of range." },
  MALFORMED_JSON: { status: 400, meaning: "The request body is not valid JSON." },
  BAD_REQUEST: { status: 400, meaning: "The request cannot be understood (bad header, bad parameter)." },
  UNAUTHENTICATED: { status: 401, meaning: "No valid token: missing, unknown, expired or revoked." },
  INVALID_CREDENTIALS: { status: 401, meaning: "Email or password is wrong." },
  INSUFFICIENT_CREDIT: { status: 402, meaning: "The marketplace account has too little credit." },
  SPENDING_CAP_REACHED: {
    status: 402,
    meaning: "Your spending cap on the server's marketplace account is reached; ask the operator to raise it.",
  },
  FORBIDDEN: { status: 403, meaning: "Your role does not allow this (operator only)." },
  REGISTRATION_CLOSED: { status: 403, meaning: "This server does not accept new accounts without an invite." },
  NOT_FOUND: { status: 404, meaning: "No such resource, or it belongs to someone else." },
  ROUTE_NOT_FOUND: { status: 404, meaning: "No such API path." },
  EMAIL_TAKEN: { status: 409, meaning: "An account with this email already exists." },
  OFFER_UNAVAILABLE: { status: 409, meaning: "The offer was rented by someone else or withdrawn; pick another." },
  INVALID_TRANSITION: { status: 409, meaning: "The resource's current status does not allow this action." },
  SSH_KEY_REQUIRED: {
    status: 409,
    meaning:
      "Your account has no SSH key, so a rented machine would refuse your ssh; add one with `dumont ssh-key add`.",
  },
  SYNC_REFUSED: {
    status: 409,
    meaning: "A sync was refused to protect the standby's copy (the source workspace is empty or unreadable).",
  },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: "The request body is larger than the server accepts." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: "The Content-Type is not accepted (send application/json)." },
  RATE_LIMITED: { status: 429, meaning: "Too many requests; wait and retry (see details.retry_after_seconds)." },
  INTERNAL: { status: 500, meaning: "A bug on our side; the request id in the log tells what happened." },
  PROVIDER_ERROR: { status: 502, meaning: "The GPU marketplace or the standby cloud answered with an error." },
  PROVIDER_AUTH_FAILED: {
    status: 502,
    meaning:
      "The GPU marketplace or the standby cloud refused our credentials (check the Vast.ai key, or GCP_CREDENTIALS).",
  },
  MACHINE_UNREACHABLE: { status: 502, meaning: "The rented machine did not answer over SSH." },
  MARKET_UNAVAILABLE: { status: 503, meaning: "No GPU marketplace is configured or reachable." },
  PROVIDER_RATE_LIMITED: { status: 503, meaning: "The marketplace is rate-limiting us; retry shortly." },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

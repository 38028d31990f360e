/**
 * @module GCP's error JSON shapes: Compute's `{"error": {code, message, status, errors: [...]}}`
 * and the OAuth token endpoint's `{"error", "error_description"}` (gcp-wire.md).
 */

/** The `status` strings Google puts beside each HTTP code. */
const STATUS_OF_CODE: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ALREADY_EXISTS",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

/** A Compute API error, answered as `{"error": {...}}` with its HTTP code. */
export class GcpError extends Error {
  override readonly name = "GcpError";

  constructor(
    readonly status: number,
    /** `errors[0].reason`: what clients branch on (notFound, alreadyExists, invalid, …). */
    readonly reason: string,
    message: string,
    /** `errors[0].message` when it differs from the top-level message (401 does). */
    private readonly detail: string = message,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ domain: "global", reason: this.reason, message: this.detail }],
        status: STATUS_OF_CODE[this.status] ?? "UNKNOWN",
      },
    };
  }
}

/** An OAuth 2.0 token-endpoint error (RFC 6749 §5.2), as Google's token endpoint answers it. */
export class OAuthError extends Error {
  override readonly name = "OAuthError";

  constructor(
    readonly status: number,
    readonly code: "invalid_grant" | "unsupported_grant_type" | "invalid_request" | "invalid_scope",
    message: string,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { error: this.code, error_description: this.message };
  }
}

export function unauthenticated(): GcpError {
  return new GcpError(
    401,
    "authError",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "Invalid Credentials",
  );
}

/** `resource` is the path form, e.g. `projects/p/zones/z/instances/n`. */
export function permissionDenied(permission: string, resource: string): GcpError {
  return new GcpError(403, "forbidden", `Required '${permission}' permission for '${resource}'`);
}

export function notFound(resource: string): GcpError {
  return new GcpError(404, "notFound", `The resource '${resource}' was not found`);
}

export function alreadyExists(resource: string): GcpError {
  return new GcpError(409, "alreadyExists", `The resource '${resource}' already exists`);
}

export function invalid(message: string): GcpError {
  return new GcpError(400, "invalid", message);
}

/** An action the resource's current state does not allow yet (a start while it is stopping). */
export function resourceNotReady(resource: string): GcpError {
  return new GcpError(400, "resourceNotReady", `The resource '${resource}' is not ready`);
}

export interface ApiErrorOptions {
  code: string;
  message: string;
  /** HTTP status, or 0 when the server could not be reached. */
  status: number;
  details?: Record<string, unknown>;
  hint?: string | undefined;
  requestId?: string | undefined;
}

/** An error answered by the API (or a failure to reach it), with the server's stable code. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;
  readonly requestId: string | undefined;

  constructor(options: ApiErrorOptions) {
    super(options.message);
    this.name = "ApiError";
    this.code = options.code;
    this.status = options.status;
    this.details = options.details ?? {};
    this.hint = options.hint;
    this.requestId = options.requestId;
  }
}

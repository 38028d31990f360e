/** An error answered by the API (or a failure to reach it), with the server's stable code. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
    readonly hint?: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

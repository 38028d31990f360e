import { httpStatusOf, type ErrorCode } from "./error-codes";

export interface DumontErrorOptions {
  code: ErrorCode;
  message: string;
  /** Safe-to-show structured facts (field names, limits, ids). Never secrets. */
  details?: Record<string, unknown>;
  /** What the user can do about it; the CLI prints it under the message. */
  hint?: string;
  cause?: unknown;
}

/** The one error type every layer throws; the API and the CLI each turn it into output in one place. */
export class DumontError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(options: DumontErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = "DumontError";
    this.code = options.code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

export function isDumontError(value: unknown): value is DumontError {
  return value instanceof DumontError;
}

/** Shorthand for the most common throw: the resource does not exist for this caller. */
export function notFound(kind: string, id: string): DumontError {
  return new DumontError({ code: "NOT_FOUND", message: `${kind} ${id} not found`, details: { kind, id } });
}

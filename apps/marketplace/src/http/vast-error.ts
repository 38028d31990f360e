import type { z } from "zod";

/**
 * An error answered in Vast's shape: `{"success": false, "error": "<code>", "msg": "…"}` with
 * Vast's status code (vast-api.md §1.4). `extra` adds fields such as `new_contract` or `ask_id`.
 */
export class VastError extends Error {
  override readonly name = "VastError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { success: false, error: this.code, msg: this.message, ...this.extra };
  }
}

export const authRequired = (): VastError => new VastError(403, "auth_error", "This action requires login.");
export const invalidKey = (): VastError => new VastError(401, "auth_error", "Invalid user key");

export function noSuchInstance(id: number): VastError {
  return new VastError(404, "no_such_instance", `Instance ${id} not found.`);
}

/** Parses with a zod schema; a mismatch is Vast's 400 `invalid_args` naming the first bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
  throw new VastError(400, "invalid_args", `${path}: ${issue?.message ?? "invalid"}`);
}

/** A path id: positive integer, else 400 `invalid_args`. */
export function pathId(value: string | undefined, what: string): number {
  const id = Number(value);
  if (!value || !Number.isSafeInteger(id) || id <= 0)
    throw new VastError(400, "invalid_args", `Invalid ${what} id: ${value ?? ""}`);
  return id;
}

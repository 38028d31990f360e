import { z } from "zod";
import { ERROR_CODE_LIST } from "../errors/error-codes";

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODE_LIST as [string, ...string[]]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
      hint: z.string().optional(),
      request_id: z.string().optional(),
    }),
  })
  .meta({ id: "ErrorBody" });

export const Timestamp = z.iso.datetime().describe("ISO-8601 UTC time");

export const IdParams = z.object({ id: z.string().min(1).max(64) });

/** A boolean as JSON or as a query string writes it (true/false/1/0). */
export const QueryBool = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
]);

export const SuccessBody = z.object({ success: z.literal(true), message: z.string() });

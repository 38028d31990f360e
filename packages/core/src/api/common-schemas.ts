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

export const SuccessBody = z.object({ success: z.literal(true), message: z.string() });

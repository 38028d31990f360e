import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { DumontError, httpStatusOf, isDumontError, type ErrorCode } from "@dumont/core";

/** The one place where anything thrown during a request becomes `{"error":{code,message,details}}`. */
export function toDumontError(error: unknown): DumontError {
  if (isDumontError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      path: `${error.validationContext ?? "body"}${v.instancePath.replace(/\//g, ".")}`,
      message: v.message ?? "invalid",
    }));
    const first = issues[0];
    return new DumontError({
      code: "VALIDATION_FAILED",
      message: first ? `${first.path}: ${first.message}` : "the request is invalid",
      details: { issues },
    });
  }
  if (isUnstorableText(error)) {
    return new DumontError({
      code: "BAD_REQUEST",
      message: "the request contains characters that cannot be stored (such as NUL)",
      cause: error,
    });
  }
  if (isResponseSerializationError(error)) {
    return new DumontError({ code: "INTERNAL", message: "internal error", cause: error });
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode ?? 500;
  const code = codeForFastifyError(fastifyError.code ?? "", status);
  return new DumontError({
    code,
    message: code === "INTERNAL" ? "internal error" : describe(code, fastifyError.message),
    cause: error,
  });
}

/**
 * PostgreSQL refuses NUL and other unencodable characters in text (SQLSTATE 22021, 22P05). Such
 * input is the caller's mistake, not a server bug, so it must not surface as a 500.
 */
function isUnstorableText(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === "22021" || code === "22P05";
}

function codeForFastifyError(code: string, status: number): ErrorCode {
  if (status === 413 || code === "FST_ERR_CTP_BODY_TOO_LARGE") return "PAYLOAD_TOO_LARGE";
  if (status === 415 || code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return "UNSUPPORTED_MEDIA_TYPE";
  if (code === "FST_ERR_CTP_INVALID_JSON_BODY" || code === "FST_ERR_CTP_EMPTY_JSON_BODY") return "MALFORMED_JSON";
  if (status === 429) return "RATE_LIMITED";
  if (status === 404) return "ROUTE_NOT_FOUND";
  if (status >= 400 && status < 500) return "BAD_REQUEST";
  return "INTERNAL";
}

function describe(code: ErrorCode, message: string | undefined): string {
  switch (code) {
    case "MALFORMED_JSON":
      return "the request body is not valid JSON";
    case "PAYLOAD_TOO_LARGE":
      return "the request body is too large";
    default:
      return message ?? code.toLowerCase();
  }
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const dumontError = toDumontError(error);
  const status = httpStatusOf(dumontError.code);
  if (status >= 500) request.log.error({ err: error }, "request failed");
  else request.log.info({ code: dumontError.code }, dumontError.message);
  const retryAfter = dumontError.details.retry_after_seconds;
  if (typeof retryAfter === "number") void reply.header("retry-after", String(retryAfter));
  return reply.status(status).send(errorBody(dumontError, request.id));
}

/** The documented error body, `{"error":{code,message,details,hint,request_id}}`. */
export function errorBody(dumontError: DumontError, requestId: string) {
  return {
    error: {
      code: dumontError.code,
      message: dumontError.message,
      details: dumontError.details,
      ...(dumontError.hint ? { hint: dumontError.hint } : {}),
      request_id: requestId,
    },
  };
}

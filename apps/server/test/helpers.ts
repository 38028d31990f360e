import { expect } from "vitest";
import { ERROR_CODES, type ErrorCode } from "@dumont/core";

/** What `app.inject()` answers, reduced to the parts these tests read. */
export interface InjectedResponse {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
  json<T = unknown>(): T;
}

export interface ErrorPayload {
  code: string;
  message: string;
  details: Record<string, unknown>;
  hint?: string;
  request_id?: string;
}

const ERROR_CODE_NAMES = Object.keys(ERROR_CODES);

/** Parses the body and checks it has the documented error shape; returns the `error` object. */
export function errorOf(response: InjectedResponse): ErrorPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    throw new Error(`error body is not JSON (status ${response.statusCode}): ${response.body.slice(0, 300)}`);
  }
  expect(parsed, `body: ${response.body.slice(0, 300)}`).toMatchObject({
    error: { code: expect.any(String), message: expect.any(String), details: expect.any(Object) },
  });
  const error = (parsed as { error: ErrorPayload }).error;
  expect(ERROR_CODE_NAMES, `unknown error code ${error.code}`).toContain(error.code);
  expect(error.request_id).toMatch(/^req_/);
  // The status a client sees must be the one the closed list documents for that code.
  expect(response.statusCode).toBe(ERROR_CODES[error.code as ErrorCode].status);
  return error;
}

/** Asserts an exact status and error code; returns the error for further checks. */
export function expectError(response: InjectedResponse, status: number, code: ErrorCode): ErrorPayload {
  expect(
    response.statusCode,
    `expected ${status} ${code}, got ${response.statusCode}: ${response.body.slice(0, 300)}`,
  ).toBe(status);
  const error = errorOf(response);
  expect(error.code).toBe(code);
  return error;
}

/** Asserts a 4xx answer with a well-formed error body from the closed list (never a 5xx). */
export function expectClientError(response: InjectedResponse, label = ""): ErrorPayload {
  expect(
    response.statusCode,
    `${label} → ${response.statusCode}: ${response.body.slice(0, 300)}`,
  ).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, `${label} → ${response.statusCode}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
  return errorOf(response);
}

export const JSON_HEADERS = { "content-type": "application/json" } as const;

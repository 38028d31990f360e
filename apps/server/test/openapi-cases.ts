/**
 * Test cases generated from the server's own OpenAPI document, so that a route is covered by the
 * bad-input and isolation suites the day it is added. The document is read, never hand-copied:
 * every operation, its parameters and body schema come from `GET /api/v1/openapi.json`.
 *
 * Three pieces:
 * - the operations (`operationsOf`), with what the suites need to know about each;
 * - a small JSON Schema checker (`accepts`) and sampler (`sampleOf`) for the subset of keywords the
 *   contract emits — a keyword it does not know fails loudly instead of being skipped;
 * - the hostile cases (`badInputCases`) with what the answer must be.
 */
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { startInProcessServer } from "@dumont/testing";
import type { InjectedResponse } from "./helpers";

export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
  $ref?: string;
}

/** Keywords `accepts` understands; anything else in a request schema stops the suite. */
const KNOWN_KEYWORDS = new Set([
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "items",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "anyOf",
  "oneOf",
  "allOf",
  "default",
  "description",
  "title",
  "examples",
  "$ref",
]);

export interface ApiParameter {
  name: string;
  in: "path" | "query";
  required: boolean;
  schema: JsonSchema;
}

export interface ApiOperation {
  id: string;
  method: Method;
  /** OpenAPI path template, `{name}` placeholders (`{*}` for a wildcard tail). */
  path: string;
  tags: string[];
  auth: boolean;
  /** `x-dumont-operator-only` (RouteDefinition.operatorOnly): a user gets 403 FORBIDDEN. */
  operatorOnly: boolean;
  /** Its success answer is not JSON (an SSE stream, a file): read only the status line. */
  streams: boolean;
  pathParams: ApiParameter[];
  queryParams: ApiParameter[];
  body: JsonSchema | undefined;
}

interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  "x-dumont-operator-only"?: boolean;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export async function fetchOpenApi(app: FastifyInstance): Promise<OpenApiDocument> {
  const response = await app.inject({ method: "GET", url: "/api/v1/openapi.json" });
  if (response.statusCode !== 200) throw new Error(`openapi.json answered ${response.statusCode}`);
  return response.json<OpenApiDocument>();
}

/**
 * The operations of a freshly started server's document. Read before the suites are declared, so
 * each operation is a test of its own (a new route appears as a new test, named after it).
 */
export async function loadOperations(): Promise<ApiOperation[]> {
  const inproc = await startInProcessServer({ startControllers: false, env: { DUMONT_MARKET: "off" } });
  try {
    return operationsOf(await fetchOpenApi(inproc.app));
  } finally {
    await inproc.close();
  }
}

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): ApiOperation[] {
  const resolve = (schema: JsonSchema | undefined, seen: string[] = []): JsonSchema | undefined => {
    if (!schema) return undefined;
    if (schema.$ref) {
      const name = schema.$ref.replace("#/components/schemas/", "");
      const target = doc.components?.schemas?.[name];
      if (!target || seen.includes(name)) throw new Error(`cannot resolve ${schema.$ref}`);
      return resolve(target, [...seen, name]);
    }
    const out: JsonSchema = { ...schema };
    if (schema.properties) {
      out.properties = Object.fromEntries(
        Object.entries(schema.properties).map(([k, v]) => [k, resolve(v, seen) ?? {}]),
      );
    }
    for (const key of ["items", "propertyNames"] as const) if (schema[key]) out[key] = resolve(schema[key], seen);
    if (typeof schema.additionalProperties === "object")
      out.additionalProperties = resolve(schema.additionalProperties, seen);
    for (const key of ["anyOf", "oneOf", "allOf"] as const) {
      if (schema[key]) out[key] = schema[key].map((s) => resolve(s, seen) ?? {});
    }
    return out;
  };

  const operations: ApiOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const params = (op.parameters ?? []).map((p) => ({
        name: p.name,
        in: p.in as "path" | "query",
        required: p.required ?? false,
        schema: resolve(p.schema) ?? { type: "string" },
      }));
      const success = Object.entries(op.responses ?? {}).find(([status]) => status.startsWith("2"))?.[1];
      operations.push({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase() as Method,
        path,
        tags: op.tags ?? [],
        auth: (op.security ?? []).length > 0,
        operatorOnly: op["x-dumont-operator-only"] === true,
        streams: !success?.content?.["application/json"],
        pathParams: params.filter((p) => p.in === "path"),
        queryParams: params.filter((p) => p.in === "query"),
        body: resolve(op.requestBody?.content?.["application/json"]?.schema),
      });
    }
  }
  return operations;
}

// ---------------------------------------------------------------------------------------------
// Schema checking and sampling

/** Throws when a schema uses a keyword the checker would silently ignore. */
export function assertUnderstood(schema: JsonSchema, where: string): void {
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYWORDS.has(key) && !key.startsWith("x-")) {
      throw new Error(
        `${where} uses the JSON Schema keyword "${key}", which apps/server/test/openapi-cases.ts does not understand: ` +
          "teach `accepts` and `hostileValues` about it so the bad-input suite covers this field",
      );
    }
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) assertUnderstood(child, `${where}.${name}`);
  if (schema.items) assertUnderstood(schema.items, `${where}[]`);
  if (schema.propertyNames) assertUnderstood(schema.propertyNames, `${where}{key}`);
  if (typeof schema.additionalProperties === "object") assertUnderstood(schema.additionalProperties, `${where}{*}`);
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) {
    assertUnderstood(branch, where);
  }
}

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainObject(value);
    default:
      return true;
  }
}

/**
 * Whether `value` satisfies `schema`, the way the server's zod schemas judge it (string lengths
 * in UTF-16 units, patterns as JavaScript regular expressions). Formats are not checked: the
 * contract always emits a pattern beside them.
 */
export function accepts(schema: JsonSchema, value: unknown): boolean {
  if (schema.anyOf && !schema.anyOf.some((s) => accepts(s, value))) return false;
  if (schema.oneOf && schema.oneOf.filter((s) => accepts(s, value)).length !== 1) return false;
  if (schema.allOf && !schema.allOf.every((s) => accepts(s, value))) return false;
  if (schema.const !== undefined && !sameValue(schema.const, value)) return false;
  if (schema.enum && !schema.enum.some((e) => sameValue(e, value))) return false;
  const types = typesOf(schema);
  if (types.length > 0 && !types.some((t) => matchesType(t, value))) return false;
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) return false;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) return false;
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) return false;
    if (schema.maximum !== undefined && value > schema.maximum) return false;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return false;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return false;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return false;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return false;
    const items = schema.items;
    if (items && !value.every((v) => accepts(items, v))) return false;
  }
  if (isPlainObject(value)) {
    for (const name of schema.required ?? [])
      if (!Object.hasOwn(value, name) || value[name] === undefined) return false;
    for (const [key, child] of Object.entries(value)) {
      const declared = schema.properties?.[key];
      if (declared) {
        if (!accepts(declared, child)) return false;
        continue;
      }
      if (schema.additionalProperties === false) return false;
      if (typeof schema.additionalProperties === "object" && !accepts(schema.additionalProperties, child)) return false;
      if (schema.propertyNames && !accepts(schema.propertyNames, key)) return false;
    }
  }
  return true;
}

/** Strings tried, in order, when a valid sample of a string schema is needed. */
const STRING_SAMPLES = [
  "sample",
  "vast.ai",
  "sample@example.com",
  "/workspace/sample",
  "owner/name",
  "sample-1",
  "s",
  "S1",
  "0",
  "2030-01-01T00:00:00Z",
  `dmi_${"A".repeat(43)}`,
];

/** A value the schema accepts (defaults and required fields only), or an error naming the field. */
export function sampleOf(schema: JsonSchema, where = "value"): unknown {
  const check = (value: unknown): unknown => {
    if (!accepts(schema, value)) {
      throw new Error(
        `cannot make a valid sample for ${where} (${JSON.stringify(schema).slice(0, 200)}): ` +
          "add one to STRING_SAMPLES or teach sampleOf in apps/server/test/openapi-cases.ts",
      );
    }
    return value;
  };
  if (schema.default !== undefined && accepts(schema, schema.default)) return schema.default;
  if (schema.const !== undefined) return check(schema.const);
  if (schema.enum) return check(schema.enum[0]);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    for (const branch of branches) {
      try {
        const value = sampleOf(branch, where);
        if (accepts(schema, value)) return value;
      } catch {
        // Try the next branch.
      }
    }
    return check(undefined);
  }
  const type = typesOf(schema)[0] ?? (schema.properties ? "object" : "string");
  switch (type) {
    case "string": {
      const found = STRING_SAMPLES.find((s) => accepts(schema, s));
      return check(found ?? "s".repeat(Math.max(schema.minLength ?? 1, 1)));
    }
    case "integer":
    case "number": {
      let value = 1;
      if (schema.minimum !== undefined && value < schema.minimum) value = schema.minimum;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
        value = schema.exclusiveMinimum + 1;
      if (schema.maximum !== undefined && value > schema.maximum) value = schema.maximum;
      if (type === "integer") value = Math.ceil(value);
      return check(value);
    }
    case "boolean":
      return true;
    case "null":
      return null;
    case "array":
      return check(Array.from({ length: schema.minItems ?? 0 }, () => sampleOf(schema.items ?? {}, `${where}[]`)));
    case "object": {
      const object: Record<string, unknown> = {};
      for (const name of schema.required ?? []) {
        object[name] = sampleOf(schema.properties?.[name] ?? {}, `${where}.${name}`);
      }
      return check(object);
    }
    default:
      return check("sample");
  }
}

/** A sample where one can be made; fields with patterns too narrow to guess are left out of mixes. */
function sampleOrUndefined(schema: JsonSchema): unknown {
  try {
    return sampleOf(schema);
  } catch {
    return undefined;
  }
}

/** A sample written as a query value. */
function querySample(schema: JsonSchema): string {
  const value = sampleOrUndefined(schema);
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : "x";
}

/** Valid path parameters for an operation (ids that exist nowhere, so answers are 404s). */
export function samplePathParams(op: ApiOperation): Record<string, string> {
  return Object.fromEntries(
    op.pathParams.map((p) => [p.name, p.name === "*" ? "output/sample.txt" : String(sampleOf(p.schema, p.name))]),
  );
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** A JSON value, or raw JSON text spliced into the body as is (for nesting too deep to build). */
export type BodyValue = { json: unknown } | { rawJson: string; standIn: unknown };

interface Hostile {
  label: string;
  value: BodyValue;
}

const DEEP = 20_000;
const deepArray = "[".repeat(DEEP) + "]".repeat(DEEP);
const deepObject = '{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP);

/** Strings that have broken parsers, shells, paths and databases before. */
const HOSTILE_STRINGS: Array<[string, string]> = [
  ["empty string", ""],
  ["only spaces", "   "],
  ["NUL byte", "a\u0000b"],
  ["lone surrogate", "\ud800"],
  ["path traversal", "../../../../etc/passwd"],
  ["Windows path traversal", "..\\..\\..\\windows\\win.ini"],
  ["__proto__", "__proto__"],
  ["SQL injection", "' OR 1=1 --"],
  ["shell substitution", "$(touch /tmp/dumont-pwned)"],
  ["option injection", "--upload-pack=touch /tmp/dumont-pwned"],
  ["newline injection", "a\nX-Injected: 1\r\n"],
  ["log4j lookup", "${jndi:ldap://127.0.0.1/x}"],
  ["emoji", "😀🔥"],
];

function pushUnique(list: Hostile[], label: string, value: unknown): void {
  if (!list.some((h) => "json" in h.value && sameValue(h.value.json, value)))
    list.push({ label, value: { json: value } });
}

/** Values for one JSON field: wrong types, values just past each limit, and hostile strings. */
export function hostileValues(schema: JsonSchema): Hostile[] {
  const out: Hostile[] = [];
  const types = new Set(typesOf(schema));
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])])
    for (const t of typesOf(branch)) types.add(t);
  const all = [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];

  pushUnique(out, "wrong type: number", 12345);
  pushUnique(out, "wrong type: numeric string", "3");
  pushUnique(out, "wrong type: boolean", true);
  pushUnique(out, "wrong type: null", null);
  pushUnique(out, "wrong type: object", {});
  pushUnique(out, "wrong type: array", ["x"]);
  if (types.has("array") || types.size === 0) {
    pushUnique(
      out,
      "huge array (20 000 items)",
      Array.from({ length: 20_000 }, (_, i) => i),
    );
  }
  out.push({ label: "nested 20 000 levels (array)", value: { rawJson: deepArray, standIn: [[[]]] } });
  out.push({ label: "nested 20 000 levels (object)", value: { rawJson: deepObject, standIn: { a: { a: 1 } } } });

  for (const s of all) {
    if (s.enum) {
      pushUnique(out, "unknown enum value", "not-a-member");
      const first = s.enum.find((e): e is string => typeof e === "string");
      if (first)
        pushUnique(
          out,
          "enum value in the wrong case",
          first.toUpperCase() === first ? first.toLowerCase() : first.toUpperCase(),
        );
    }
    if (s.maxLength !== undefined) pushUnique(out, `longer than maxLength ${s.maxLength}`, "x".repeat(s.maxLength + 1));
    if (s.minLength !== undefined && s.minLength > 1) {
      pushUnique(out, `shorter than minLength ${s.minLength}`, "x".repeat(s.minLength - 1));
    }
    for (const [bound, delta] of [
      ["minimum", -1],
      ["maximum", 1],
    ] as const) {
      const limit = s[bound];
      if (limit !== undefined) pushUnique(out, `${bound} ${limit} ${delta < 0 ? "- 1" : "+ 1"}`, limit + delta);
    }
    if (s.exclusiveMinimum !== undefined)
      pushUnique(out, `at exclusiveMinimum ${s.exclusiveMinimum}`, s.exclusiveMinimum);
    if (s.exclusiveMaximum !== undefined)
      pushUnique(out, `at exclusiveMaximum ${s.exclusiveMaximum}`, s.exclusiveMaximum);
    if (s.maxItems !== undefined) {
      const item = s.items ? (sampleOrUndefined(s.items) ?? "x") : "x";
      pushUnique(
        out,
        `more than maxItems ${s.maxItems}`,
        Array.from({ length: s.maxItems + 1 }, () => item),
      );
    }
    if (s.items) {
      for (const inner of hostileValues(s.items).slice(0, 8)) {
        if ("json" in inner.value) pushUnique(out, `item: ${inner.label}`, [inner.value.json]);
      }
    }
    if (s.propertyNames || typeof s.additionalProperties === "object") {
      const valueSample =
        typeof s.additionalProperties === "object" ? (sampleOrUndefined(s.additionalProperties) ?? "v") : "v";
      pushUnique(out, "key with spaces and punctuation", { "bad key; rm -rf /": valueSample });
      pushUnique(out, "empty key", { "": valueSample });
      pushUnique(out, "key with NUL", { "k\u0000": valueSample });
    }
  }
  if (types.has("integer")) pushUnique(out, "fractional number", 1.5);
  if (types.has("integer") || types.has("number")) {
    pushUnique(out, "negative", -1);
    pushUnique(out, "zero", 0);
    pushUnique(out, "1e308", 1e308);
    pushUnique(out, "-1e308", -1e308);
    pushUnique(out, "beyond safe integers", 2 ** 60);
  }
  for (const [label, value] of HOSTILE_STRINGS) pushUnique(out, label, value);
  if (!all.some((s) => s.maxLength !== undefined)) pushUnique(out, "100 kB string", "x".repeat(100_000));
  return out;
}

/** Query strings are text: the same ideas, written as the server receives them. */
function hostileQueryValues(schema: JsonSchema): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ["empty", ""],
    ["NUL byte", "a\u0000b"],
    ["path traversal", "../../../../etc/passwd"],
    ["SQL injection", "' OR 1=1 --"],
    ["__proto__", "__proto__"],
    ["long", "x".repeat(5000)],
  ];
  const types = new Set([...typesOf(schema), ...(schema.anyOf ?? []).flatMap(typesOf)]);
  if (types.has("integer") || types.has("number")) {
    out.push(
      ["not a number", "abc"],
      ["NaN", "NaN"],
      ["Infinity", "Infinity"],
      ["1e400", "1e400"],
      ["beyond safe integers", "99999999999999999999"],
      ["hex", "0x10"],
      ["fractional", "1.5"],
      ["negative", "-1"],
    );
  }
  if (types.has("boolean")) out.push(["yes", "yes"], ["TRUE", "TRUE"], ["2", "2"]);
  for (const s of [schema, ...(schema.anyOf ?? [])]) {
    if (s.enum) out.push(["unknown enum value", "not-a-member"]);
    const first = s.enum?.find((e): e is string => typeof e === "string");
    if (first) out.push(["enum value in the wrong case", first.toUpperCase()]);
    if (s.maxLength !== undefined) out.push([`longer than maxLength ${s.maxLength}`, "x".repeat(s.maxLength + 1)]);
    if (s.minimum !== undefined) out.push([`minimum ${s.minimum} - 1`, String(s.minimum - 1)]);
    if (s.maximum !== undefined) out.push([`maximum ${s.maximum} + 1`, String(s.maximum + 1)]);
    if (s.exclusiveMinimum !== undefined) out.push([`at exclusiveMinimum`, String(s.exclusiveMinimum)]);
  }
  return out;
}

/** What a query value becomes before validation (`z.coerce.number()`, the boolean union). */
function coerceQuery(schema: JsonSchema, value: string | string[]): unknown {
  if (Array.isArray(value)) return value;
  const types = new Set([...typesOf(schema), ...(schema.anyOf ?? []).flatMap(typesOf)]);
  if (types.has("integer") || types.has("number")) return Number(value);
  if (types.has("boolean"))
    return ["true", "1"].includes(value) ? true : ["false", "0"].includes(value) ? false : value;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Cases

/** What the answer to a case must be. */
export type Expectation =
  /** The input breaks the schema: a 4xx in the error envelope; with `issue`, a VALIDATION_FAILED naming it. */
  | { kind: "reject"; code?: string; issue?: { path: string; mentions?: string } }
  /** The input is allowed by the schema but hostile: anything but a 5xx or a hang. */
  | { kind: "survive" };

export interface HttpCase {
  label: string;
  method: Method;
  /** Already encoded: sent byte for byte. */
  url: string;
  headers: Record<string, string>;
  payload?: string | undefined;
  expect: Expectation;
}

function encodePathValue(name: string, value: string): string {
  return name === "*" ? value.split("/").map(encodeURIComponent).join("/") : encodeURIComponent(value);
}

/** Fills a path template; values are encoded unless `raw` names the parameter to leave as is. */
export function fillPath(template: string, values: Record<string, string>, raw?: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${template}`);
    return name === raw ? value : encodePathValue(name, value);
  });
}

function queryString(query: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value])
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
  }
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

export const JSON_CONTENT = { "content-type": "application/json" } as const;

/** Serialises a body where one field may be raw JSON text. */
export function bodyText(
  base: Record<string, unknown>,
  field: string | undefined,
  value: BodyValue | undefined,
): string {
  if (field === undefined || value === undefined) return JSON.stringify(base);
  if ("json" in value) {
    const object = { ...base };
    Object.defineProperty(object, field, { value: value.json, enumerable: true, writable: true, configurable: true });
    return JSON.stringify(object);
  }
  const marker = "\u0001raw\u0001";
  return JSON.stringify({ ...base, [field]: marker }).replace(JSON.stringify(marker), value.rawJson);
}

/**
 * Every hostile request for one operation. Inputs the schema refuses must be refused with a 4xx
 * that names the field; inputs it allows (NUL, traversal strings, `__proto__`…) must not be a 5xx.
 */
export function badInputCases(op: ApiOperation, options: { baseBody?: Record<string, unknown> } = {}): HttpCase[] {
  const where = `${op.id} (${op.method} ${op.path})`;
  for (const p of [...op.pathParams, ...op.queryParams]) assertUnderstood(p.schema, `${where} ${p.in} ${p.name}`);
  if (op.body) assertUnderstood(op.body, `${where} body`);

  const cases: HttpCase[] = [];
  const params = samplePathParams(op);
  const path = fillPath(op.path, params);
  const baseBody = op.body
    ? (options.baseBody ?? (sampleOf(op.body, `${where} body`) as Record<string, unknown>))
    : undefined;
  if (op.body && baseBody && !accepts(op.body, baseBody))
    throw new Error(`${where}: the base body does not match the schema`);
  const basePayload = baseBody ? JSON.stringify(baseBody) : undefined;
  const baseHeaders: Record<string, string> = baseBody ? { ...JSON_CONTENT } : {};
  const add = (c: Omit<HttpCase, "method" | "headers"> & { headers?: Record<string, string> }) =>
    cases.push({ method: op.method, headers: baseHeaders, payload: basePayload, ...c });

  // Path parameters.
  for (const param of op.pathParams) {
    const values: Array<[string, string]> = [
      ["NUL byte", "a\u0000b"],
      ["path traversal (encoded)", "../../../../etc/passwd"],
      ["dot-dot", ".."],
      ["SQL injection", "' or 1=1 --"],
      ["emoji", "😀"],
      ["__proto__", "__proto__"],
      ["percent sign", "%"],
    ];
    if (param.schema.maxLength !== undefined)
      values.push([`longer than maxLength`, "x".repeat(param.schema.maxLength + 1)]);
    for (const [label, value] of values) {
      const valid = accepts(param.schema, value);
      add({
        label: `path ${param.name}: ${label}`,
        url: fillPath(op.path, { ...params, [param.name]: value }),
        expect: valid ? { kind: "survive" } : { kind: "reject", issue: { path: `params.${param.name}` } },
      });
    }
    // Answered by the router before validation: any 4xx in the envelope.
    for (const [label, value] of [
      ["raw path traversal", "../../../../etc/passwd"],
      ["broken percent-encoding", "%E0%A4%A"],
      ["500 characters", "x".repeat(500)],
    ] as const) {
      add({
        label: `path ${param.name}: ${label}`,
        url: fillPath(op.path, { ...params, [param.name]: value }, param.name),
        expect: label === "raw path traversal" && param.name === "*" ? { kind: "survive" } : { kind: "reject" },
      });
    }
  }

  // Query parameters: each alone, the others left to their defaults.
  const requiredQuery = Object.fromEntries(
    op.queryParams.filter((p) => p.required).map((p) => [p.name, String(sampleOf(p.schema, p.name))]),
  );
  for (const param of op.queryParams) {
    const values: Array<[string, string | string[]]> = hostileQueryValues(param.schema);
    values.push(["given twice", [querySample(param.schema), querySample(param.schema)]]);
    for (const [label, value] of values) {
      const valid = accepts(param.schema, coerceQuery(param.schema, value));
      add({
        label: `query ${param.name}: ${label}`,
        url: path + queryString({ ...requiredQuery, [param.name]: value }),
        expect: valid ? { kind: "survive" } : { kind: "reject", issue: { path: `querystring.${param.name}` } },
      });
    }
    add({
      label: `query ${param.name}: broken percent-encoding`,
      url: `${path}?${param.name}=%E0%A4%A`,
      expect: { kind: "survive" },
    });
  }
  for (const [label, query] of [
    ["unknown query parameter", "zz_unknown=1"],
    ["__proto__ query parameter", "__proto__=x&__proto__[polluted]=1"],
    ["constructor query parameter", "constructor[prototype][polluted]=1"],
  ] as const) {
    add({
      label,
      url: `${path}${queryString(requiredQuery)}${Object.keys(requiredQuery).length ? "&" : "?"}${query}`,
      expect: { kind: "survive" },
    });
  }

  // Body: the sample with one field replaced, then the body as a whole.
  if (op.body && baseBody) {
    const body = op.body;
    for (const [field, schema] of Object.entries(body.properties ?? {})) {
      for (const hostile of hostileValues(schema)) {
        const probe = "json" in hostile.value ? hostile.value.json : hostile.value.standIn;
        const object = { ...baseBody };
        Object.defineProperty(object, field, { value: probe, enumerable: true, writable: true, configurable: true });
        const valid = accepts(body, object);
        add({
          label: `body ${field}: ${hostile.label}`,
          url: path,
          payload: bodyText(baseBody, field, hostile.value),
          expect: valid ? { kind: "survive" } : { kind: "reject", issue: { path: `body.${field}` } },
        });
      }
    }
    for (const name of body.required ?? []) {
      const { [name]: _dropped, ...rest } = baseBody;
      add({
        label: `body without required ${name}`,
        url: path,
        payload: JSON.stringify(rest),
        expect: { kind: "reject", issue: { path: `body.${name}` } },
      });
    }
    const extra = { ...baseBody, zz_unknown_field: true };
    add({
      label: "body with an unknown field",
      url: path,
      payload: JSON.stringify(extra),
      expect: accepts(body, extra)
        ? { kind: "survive" }
        : { kind: "reject", issue: { path: "body", mentions: "zz_unknown_field" } },
    });
    // Prototype-pollution keys, at the top and in each field: the JSON parser refuses them.
    const poisons = [
      ["__proto__", '{"__proto__":{"polluted":true}}'],
      ["constructor.prototype", '{"constructor":{"prototype":{"polluted":true}}}'],
    ] as const;
    for (const [label, poison] of poisons) {
      const rest = JSON.stringify(baseBody).slice(1);
      const top = `${poison.slice(0, -1)}${rest === "}" ? "" : ","}${rest}`;
      add({ label: `${label} at the top`, url: path, payload: top, expect: { kind: "reject" } });
      for (const field of Object.keys(body.properties ?? {})) {
        const payload = bodyText(baseBody, field, { rawJson: poison, standIn: {} });
        add({ label: `body ${field}: ${label} key`, url: path, payload, expect: { kind: "reject" } });
      }
    }
    for (const [label, text] of [
      ["JSON array", "[]"],
      ["JSON string", '"x"'],
      ["JSON null", "null"],
      ["JSON number", "42"],
      ["JSON boolean", "true"],
      ["array of bodies", `[${JSON.stringify(baseBody)}]`],
      ["huge array", JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i))],
      ["nested 20 000 levels", deepArray],
    ] as const) {
      add({
        label: `body is a ${label}`,
        url: path,
        payload: text,
        expect: { kind: "reject", code: "VALIDATION_FAILED", issue: { path: "body" } },
      });
    }
    for (const [label, text] of [
      ["unterminated object", "{bad"],
      ["trailing comma", `${JSON.stringify(baseBody).slice(0, -1)},}`],
      ["single quotes", "{'a': 1}"],
      ["truncated", JSON.stringify(baseBody).slice(0, -1)],
      ["bare word", "undefined"],
      ["two documents", `${JSON.stringify(baseBody)}${JSON.stringify(baseBody)}`],
      ["NaN literal", '{"a": NaN}'],
      ["empty with a JSON content type", ""],
      ["only whitespace", "   \n  "],
    ] as const) {
      add({
        label: `malformed JSON: ${label}`,
        url: path,
        payload: text,
        expect: { kind: "reject", code: "MALFORMED_JSON" },
      });
    }
    for (const [contentType, text] of [
      ["text/plain", basePayload ?? ""],
      ["application/x-www-form-urlencoded", "a=1"],
      ["multipart/form-data; boundary=x", "--x\r\n\r\n--x--"],
      ["application/xml", "<a>1</a>"],
    ] as const) {
      add({
        label: `Content-Type ${contentType}`,
        url: path,
        headers: { "content-type": contentType },
        payload: text,
        expect: { kind: "reject", code: "UNSUPPORTED_MEDIA_TYPE" },
      });
    }
    add({ label: "no body at all", url: path, headers: {}, payload: undefined, expect: { kind: "reject" } });
  } else if (op.method !== "GET") {
    add({
      label: "malformed JSON where no body is expected",
      url: path,
      headers: { ...JSON_CONTENT },
      payload: "{bad",
      expect: { kind: "reject" },
    });
  }
  return cases;
}

/** Requests that must all be answered 401 UNAUTHENTICATED on an authenticated operation. */
export function unauthenticatedCases(op: ApiOperation): HttpCase[] {
  const path = fillPath(op.path, samplePathParams(op));
  const payload = op.body ? JSON.stringify(sampleOf(op.body)) : undefined;
  const content: Record<string, string> = op.body ? { ...JSON_CONTENT } : {};
  const expect: Expectation = { kind: "reject", code: "UNAUTHENTICATED" };
  return [
    ["no token", {}],
    ["garbage token", { authorization: "Bearer garbage" }],
    ["well-formed unknown token", { authorization: `Bearer dmt_${"0".repeat(40)}` }],
    ["empty bearer", { authorization: "Bearer " }],
    ["basic auth", { authorization: "Basic dXNlcjpwYXNzd29yZA==" }],
    ["token without scheme", { authorization: "dmt_abc" }],
  ].map(([label, headers]) => ({
    label: `${label as string}`,
    method: op.method,
    url: path,
    headers: { ...content, ...(headers as Record<string, string>) },
    payload,
    expect,
  }));
}

// ---------------------------------------------------------------------------------------------
// Random bodies and URLs (seeded, so a failure reproduces)

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random requests mixing valid samples and hostile values across every field at once (the cases
 * above change one field at a time). Only the no-5xx rule applies.
 */
export function fuzzCases(op: ApiOperation, seed: number, count: number): HttpCase[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const cases: HttpCase[] = [];
  const sampleParams = samplePathParams(op);
  for (let i = 0; i < count; i += 1) {
    const params = { ...sampleParams };
    for (const p of op.pathParams)
      if (random() < 0.5) params[p.name] = pick([...hostileQueryValues(p.schema).map(([, v]) => v), "x"]) || "x";
    const query: Record<string, string> = {};
    for (const p of op.queryParams) {
      const roll = random();
      if (roll < 0.3) query[p.name] = querySample(p.schema);
      else if (roll < 0.6) query[p.name] = pick(hostileQueryValues(p.schema))[1];
    }
    let payload: string | undefined;
    if (op.body) {
      const object: Record<string, unknown> = {};
      for (const [field, schema] of Object.entries(op.body.properties ?? {})) {
        const roll = random();
        if (roll < 0.25) continue;
        if (roll < 0.6) object[field] = sampleOrUndefined(schema);
        else {
          const hostile = pick(hostileValues(schema).filter((h) => "json" in h.value));
          object[field] = "json" in hostile.value ? hostile.value.json : null;
        }
      }
      if (random() < 0.3)
        object[pick(["id", "owner_id", "role", "status", "admin", "x"])] = pick([true, "operator", 1, null]);
      const text = JSON.stringify(object);
      const mangle = random();
      payload =
        mangle < 0.85
          ? text
          : mangle < 0.93
            ? text.slice(0, Math.floor(random() * text.length))
            : text.slice(0, 1) + pick(["{", "}", '"', ",", ":", "\\", "\u0000", "]"]) + text.slice(1);
    }
    cases.push({
      label: `fuzz seed ${seed} #${i}`,
      method: op.method,
      url: fillPath(op.path, params) + queryString(query),
      headers: op.body ? { ...JSON_CONTENT } : {},
      payload,
      expect: { kind: "survive" },
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Sending over a real socket

export interface Listening {
  baseUrl: { host: string; port: number };
}

/** Starts the app listening on a free loopback port (streams need a real socket to be cut). */
export async function listen(app: FastifyInstance): Promise<Listening> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address() as AddressInfo;
  return { baseUrl: { host: "127.0.0.1", port: address.port } };
}

export class NoAnswerError extends Error {}

/**
 * Sends a request byte for byte (no URL normalisation, so `..` reaches the server) and reads the
 * answer. A streaming answer (not JSON) is cut after its status line. No answer within
 * `timeoutMs` is an error: a hostile request must never hang.
 */
export function send(
  target: Listening,
  request: { method: Method; url: string; headers?: Record<string, string>; payload?: string | undefined },
  timeoutMs = 10_000,
): Promise<InjectedResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    const payload = request.payload === undefined ? undefined : Buffer.from(request.payload, "utf8");
    if (payload) headers["content-length"] = String(payload.length);
    const req = httpRequest(
      { ...target.baseUrl, method: request.method, path: request.url, headers, agent: false },
      (res) => {
        const contentType = String(res.headers["content-type"] ?? "");
        const chunks: Buffer[] = [];
        const finish = () => {
          clearTimeout(timer);
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({
            statusCode: res.statusCode ?? 0,
            body,
            headers: res.headers,
            json: <T>() => JSON.parse(body) as T,
          });
        };
        if (!contentType.includes("application/json")) {
          // A stream or a file: the status and headers are the answer.
          res.destroy();
          finish();
          return;
        }
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", finish);
        res.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new NoAnswerError(`${request.method} ${request.url.slice(0, 200)}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (payload) req.write(payload);
    req.end();
  });
}

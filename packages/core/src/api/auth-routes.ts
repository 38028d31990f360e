import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, SuccessBody, Timestamp } from "./common-schemas";

const Email = z
  .email()
  .max(254)
  .transform((e) => e.trim().toLowerCase());

export const PASSWORD_MIN_LENGTH = 8;

const NewPassword = z.string().min(PASSWORD_MIN_LENGTH).max(256);

export const Role = z
  .enum(["operator", "user"])
  .describe("operator: runs this server (invites, spending caps, the server account's balance); user: everyone else");

export const User = z
  .object({ id: z.string(), email: z.string(), role: Role, created_at: Timestamp })
  .meta({ id: "User" });

/** What an invite code looks like: `dmi_` and 43 base64url characters. */
export const InviteCode = z
  .string()
  .trim()
  .regex(/^dmi_[A-Za-z0-9_-]{43}$/, "an invite code looks like dmi_ followed by 43 characters");

export const AuthSession = z
  .object({
    success: z.literal(true),
    user: User,
    token: z.string().describe("Bearer token; send as `Authorization: Bearer <token>`. Shown once."),
    expires_at: Timestamp,
  })
  .meta({ id: "AuthSession" });

export const TokenKind = z.enum(["session", "api_key"]);

export const Me = z.object({
  authenticated: z.literal(true),
  user: User.extend({ username: z.string(), settings: z.record(z.string(), z.unknown()) }),
  token: z.object({ id: z.string(), kind: TokenKind, expires_at: Timestamp.nullable() }),
});

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().describe("First characters of the key, to recognise it"),
    created_at: Timestamp,
    expires_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .meta({ id: "ApiKey" });

export const authRoutes = {
  register: defineRoute({
    method: "POST",
    path: "/api/v1/auth/register",
    summary: "Create an account and log in (the first account on an empty server is the operator)",
    tag: "auth",
    auth: false,
    successStatus: 201,
    body: z.object({
      email: Email,
      password: NewPassword,
      invite_code: InviteCode.optional().describe(
        "Single-use code from the operator; needed unless registration is open",
      ),
    }),
    response: AuthSession,
  }),
  login: defineRoute({
    method: "POST",
    path: "/api/v1/auth/login",
    summary: "Exchange email and password for a session token",
    tag: "auth",
    auth: false,
    successStatus: 200,
    body: z
      .object({
        email: Email.optional(),
        username: Email.optional().describe("Alias of email, accepted for compatibility"),
        password: z.string().min(1).max(256),
      })
      .refine((b) => b.email !== undefined || b.username !== undefined, {
        message: "email is required",
        path: ["email"],
      }),
    response: AuthSession,
  }),
  logout: defineRoute({
    method: "POST",
    path: "/api/v1/auth/logout",
    summary: "Revoke the token used for this request",
    tag: "auth",
    auth: true,
    successStatus: 200,
    response: SuccessBody,
  }),
  me: defineRoute({
    method: "GET",
    path: "/api/v1/auth/me",
    summary: "Who the token belongs to",
    tag: "auth",
    auth: true,
    successStatus: 200,
    response: Me,
  }),
  createApiKey: defineRoute({
    method: "POST",
    path: "/api/v1/auth/api-keys",
    summary: "Create a long-lived API key for scripts (shown once)",
    tag: "auth",
    auth: true,
    successStatus: 201,
    body: z.object({
      name: z.string().trim().min(1).max(100),
      expires_in_days: z.number().int().min(1).max(3650).optional(),
    }),
    response: ApiKey.extend({ key: z.string() }),
  }),
  listApiKeys: defineRoute({
    method: "GET",
    path: "/api/v1/auth/api-keys",
    summary: "List your API keys (never the secret part)",
    tag: "auth",
    auth: true,
    successStatus: 200,
    response: z.object({ api_keys: z.array(ApiKey), count: z.number().int() }),
  }),
  revokeApiKey: defineRoute({
    method: "DELETE",
    path: "/api/v1/auth/api-keys/{id}",
    summary: "Revoke an API key",
    tag: "auth",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: SuccessBody,
  }),
} as const;

import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, SuccessBody, Timestamp } from "./common-schemas";
import { Role } from "./auth-routes";
import { Spending } from "./account-routes";

export const Invite = z
  .object({
    id: z.string(),
    prefix: z.string().describe("First characters of the code, to recognise it"),
    note: z.string().nullable(),
    created_at: Timestamp,
    expires_at: Timestamp,
    used_at: Timestamp.nullable(),
    used_by: z.string().nullable().describe("Id of the account the invite created"),
    revoked_at: Timestamp.nullable(),
    state: z.enum(["active", "used", "revoked", "expired"]),
  })
  .meta({ id: "Invite" });

export const AdminUser = z
  .object({
    id: z.string(),
    email: z.string(),
    role: Role,
    created_at: Timestamp,
    spend_cap_override_usd: z.number().nullable().describe("The operator's cap for this account; null = the default"),
    spending: Spending.describe("cap_usd is the cap in force (override, else the default; operators: none)"),
  })
  .meta({ id: "AdminUser" });

/** Routes only an operator may call; anyone else gets 403 FORBIDDEN. */
export const adminRoutes = {
  createInvite: defineRoute({
    method: "POST",
    path: "/api/v1/admin/invites",
    summary: "Create a single-use invite code (operator only; the code is shown once)",
    tag: "admin",
    auth: true,
    operatorOnly: true,
    successStatus: 201,
    body: z
      .object({
        expires_in_hours: z.number().int().min(1).max(8760).default(168),
        note: z.string().trim().min(1).max(200).optional(),
      })
      .strict(),
    response: Invite.extend({ code: z.string().describe("Give it to the person; only its hash is stored") }),
  }),
  listInvites: defineRoute({
    method: "GET",
    path: "/api/v1/admin/invites",
    summary: "List invites (operator only; never the codes)",
    tag: "admin",
    auth: true,
    operatorOnly: true,
    successStatus: 200,
    response: z.object({ invites: z.array(Invite), count: z.number().int() }),
  }),
  revokeInvite: defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/invites/{id}",
    summary: "Revoke an unused invite (operator only)",
    tag: "admin",
    auth: true,
    operatorOnly: true,
    successStatus: 200,
    params: IdParams,
    response: SuccessBody,
  }),
  listUsers: defineRoute({
    method: "GET",
    path: "/api/v1/admin/users",
    summary: "Every account with its role, spending and cap (operator only)",
    tag: "admin",
    auth: true,
    operatorOnly: true,
    successStatus: 200,
    response: z.object({ users: z.array(AdminUser), count: z.number().int() }),
  }),
  setSpendCap: defineRoute({
    method: "PUT",
    path: "/api/v1/admin/users/{id}/spend-cap",
    summary:
      "Set an account's spending cap on the server's marketplace account; null restores the default (operator only)",
    tag: "admin",
    auth: true,
    operatorOnly: true,
    successStatus: 200,
    params: IdParams,
    body: z.object({ spend_cap_usd: z.number().min(0).max(1_000_000).nullable() }).strict(),
    response: AdminUser,
  }),
} as const;

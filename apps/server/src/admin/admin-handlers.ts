import { notFound } from "@dumont/core";
import type { InviteRow, UserRow } from "@dumont/db";
import type { HandlersFor } from "../http/handler-types";
import { iso, isoOrNull, type ServerContext } from "../server-context";

type Names = "createInvite" | "listInvites" | "revokeInvite" | "listUsers" | "setSpendCap";

/** Operator-only routes (the contract marks them; the route registration enforces the role). */
export function adminHandlers(ctx: ServerContext): HandlersFor<Names> {
  const inviteView = (row: InviteRow) => ({
    id: row.id,
    prefix: row.prefix,
    note: row.note,
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
    used_at: isoOrNull(row.used_at),
    used_by: row.used_by,
    revoked_at: isoOrNull(row.revoked_at),
    state: ctx.invites.stateOf(row),
  });
  const userView = (user: UserRow, spent: number) => ({
    id: user.id,
    email: user.email,
    role: user.role,
    created_at: iso(user.created_at),
    spend_cap_override_usd: user.spend_cap_usd,
    spending: ctx.spending.view(user, spent),
  });
  return {
    createInvite: async ({ body }, { principal }) => {
      const { row, code } = await ctx.invites.create(principal.user.id, {
        expiresInHours: body.expires_in_hours,
        note: body.note,
      });
      return { ...inviteView(row), code };
    },
    listInvites: async () => {
      const invites = (await ctx.invites.list()).map(inviteView);
      return { invites, count: invites.length };
    },
    revokeInvite: async ({ params }) => {
      await ctx.invites.revoke(params.id);
      return { success: true, message: `invite ${params.id} revoked` };
    },
    listUsers: async () => {
      const [users, spent] = await Promise.all([ctx.repos.users.list(), ctx.spending.spentByUser()]);
      return { users: users.map((u) => userView(u, spent.get(u.id) ?? 0)), count: users.length };
    },
    setSpendCap: async ({ params, body }) => {
      if (!(await ctx.repos.users.setSpendCap(params.id, body.spend_cap_usd))) throw notFound("user", params.id);
      const user = await ctx.repos.users.findById(params.id);
      if (!user) throw notFound("user", params.id);
      return userView(user, (await ctx.spending.viewOf(user)).spent_usd);
    },
  };
}

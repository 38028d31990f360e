import type { TokenRow, UserRow } from "@dumont/db";
import type { HandlersFor } from "../http/handler-types";
import { iso, isoOrNull, type ServerContext } from "../server-context";

type AuthRouteNames = "register" | "login" | "logout" | "me" | "createApiKey" | "listApiKeys" | "revokeApiKey";

export function authHandlers(ctx: ServerContext): HandlersFor<AuthRouteNames> {
  return {
    register: async ({ body }, { request }) => {
      const { user, token, row } = await ctx.auth.register({
        email: body.email,
        password: body.password,
        inviteCode: body.invite_code,
        ip: request.ip,
      });
      return session(user, token, row);
    },
    login: async ({ body }, { request }) => {
      const email = body.email ?? body.username ?? "";
      const { user, token, row } = await ctx.auth.login({ email, password: body.password, ip: request.ip });
      return session(user, token, row);
    },
    logout: async (_input, { principal }) => {
      await ctx.auth.logout(principal);
      return { success: true, message: "logged out; this token no longer works" };
    },
    me: async (_input, { principal }) => {
      const settings = await ctx.settings.get(principal.user.id);
      return {
        authenticated: true,
        user: { ...userView(principal.user), username: principal.user.email, settings: settings.preferences },
        token: {
          id: principal.token.id,
          kind: principal.token.kind,
          expires_at: isoOrNull(principal.token.expires_at),
        },
      };
    },
    createApiKey: async ({ body }, { principal }) => {
      const ttl = body.expires_in_days === undefined ? undefined : body.expires_in_days * 86_400_000;
      const { token, row } = await ctx.auth.issue(principal.user.id, "api_key", body.name, ttl);
      return { ...apiKeyView(row), key: token };
    },
    listApiKeys: async (_input, { principal }) => {
      const keys = await ctx.auth.listApiKeys(principal.user.id);
      return { api_keys: keys.map(apiKeyView), count: keys.length };
    },
    revokeApiKey: async ({ params }, { principal }) => {
      await ctx.auth.revokeApiKey(principal.user.id, params.id);
      return { success: true, message: `API key ${params.id} revoked` };
    },
  };
}

function userView(user: UserRow) {
  return { id: user.id, email: user.email, role: user.role, created_at: iso(user.created_at) };
}

function session(user: UserRow, token: string, row: TokenRow) {
  return {
    success: true as const,
    user: userView(user),
    token,
    expires_at: iso(row.expires_at ?? row.created_at),
  };
}

function apiKeyView(row: TokenRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    created_at: iso(row.created_at),
    expires_at: isoOrNull(row.expires_at),
    last_used_at: isoOrNull(row.last_used_at),
    revoked_at: isoOrNull(row.revoked_at),
  };
}

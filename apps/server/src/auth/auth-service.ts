import { DumontError } from "@dumont/core";
import type { TokenRow, TokensRepository, UserRow, UsersRepository } from "@dumont/db";
import { DECOY_HASH_PROMISE, hashPassword, verifyPassword } from "../security/password-hasher";
import { displayPrefix, generateToken, hashToken, newId, type TokenKind } from "../security/tokens";
import type { LoginThrottle } from "../security/login-throttle";
import { hashInviteCode } from "../security/invite-codes";
import { decideRole, inviteRejected, type RegistrationMode } from "./registration-policy";

/** The caller behind a request, resolved from its bearer token. */
export interface Principal {
  user: UserRow;
  token: TokenRow;
}

export interface IssuedToken {
  token: string;
  row: TokenRow;
}

export interface AuthServiceOptions {
  users: UsersRepository;
  tokens: TokensRepository;
  throttle: LoginThrottle;
  sessionTtlMs: number;
  registration: RegistrationMode;
  now: () => number;
}

// Writing last_used_at on every request would turn reads into writes; once a minute is enough.
const TOUCH_INTERVAL_MS = 60_000;

export class AuthService {
  constructor(private readonly options: AuthServiceOptions) {}

  async register(input: {
    email: string;
    password: string;
    inviteCode?: string | undefined;
    ip: string;
  }): Promise<{ user: UserRow } & IssuedToken> {
    this.options.throttle.admit(input.ip, undefined);
    const { registration, users } = this.options;
    const hasInvite = input.inviteCode !== undefined;
    // Refuse early, before paying for the password hash; the transaction below decides for real.
    decideRole(registration, { operatorExists: await users.operatorExists(), hasInvite });
    const now = this.options.now();
    const user = await users.register({
      user: {
        id: newId("usr"),
        email: input.email,
        password_hash: await hashPassword(input.password),
        created_at: now,
        spend_cap_usd: null,
      },
      decideRole: (operatorExists) => decideRole(registration, { operatorExists, hasInvite }),
      inviteHash: input.inviteCode === undefined ? undefined : hashInviteCode(input.inviteCode),
      now,
    });
    if (user === "invite_rejected") throw inviteRejected();
    return { user, ...(await this.issue(user.id, "session", "login")) };
  }

  async login(input: { email: string; password: string; ip: string }): Promise<{ user: UserRow } & IssuedToken> {
    const { throttle } = this.options;
    throttle.admit(input.ip, input.email);
    const user = await this.options.users.findByEmail(input.email);
    const valid = await verifyPassword(input.password, user?.password_hash ?? (await DECOY_HASH_PROMISE));
    if (!user || !valid) {
      throttle.recordFailure(input.ip, input.email);
      throw new DumontError({
        code: "INVALID_CREDENTIALS",
        message: "email or password is wrong",
        hint: "Check both, or create an account with `dumont auth register`.",
      });
    }
    throttle.recordSuccess(input.ip, input.email);
    return { user, ...(await this.issue(user.id, "session", "login")) };
  }

  async issue(userId: string, kind: TokenKind, name: string, ttlMs?: number): Promise<IssuedToken> {
    const now = this.options.now();
    const token = generateToken(kind);
    const lifetime = ttlMs ?? (kind === "session" ? this.options.sessionTtlMs : undefined);
    const row: TokenRow = {
      id: newId(kind === "session" ? "ses" : "key"),
      user_id: userId,
      kind,
      name,
      token_hash: hashToken(token),
      prefix: displayPrefix(token),
      created_at: now,
      expires_at: lifetime === undefined ? null : now + lifetime,
      revoked_at: null,
      last_used_at: null,
    };
    await this.options.tokens.insert(row);
    return { token, row };
  }

  /** Resolves a bearer token, or throws UNAUTHENTICATED with the same message whatever was wrong. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const unauthenticated = new DumontError({
      code: "UNAUTHENTICATED",
      message: authorization ? "the token is invalid, expired or revoked" : "this request needs a bearer token",
      hint: "Log in with `dumont auth login <email>` (or send Authorization: Bearer <token>).",
    });
    if (!match?.[1]) throw unauthenticated;
    const now = this.options.now();
    const token = await this.options.tokens.findActiveByHash(hashToken(match[1]), now);
    if (!token) throw unauthenticated;
    const user = await this.options.users.findById(token.user_id);
    if (!user) throw unauthenticated;
    if (token.last_used_at === null || now - token.last_used_at > TOUCH_INTERVAL_MS) {
      await this.options.tokens.touch(token.id, now);
    }
    return { user, token };
  }

  async logout(principal: Principal): Promise<void> {
    await this.options.tokens.revoke({ id: principal.token.id, userId: principal.user.id, now: this.options.now() });
  }

  async revokeApiKey(userId: string, keyId: string): Promise<void> {
    const revoked = await this.options.tokens.revoke({ id: keyId, userId, kind: "api_key", now: this.options.now() });
    if (!revoked) throw new DumontError({ code: "NOT_FOUND", message: `API key ${keyId} not found` });
  }

  listApiKeys(userId: string): Promise<TokenRow[]> {
    return this.options.tokens.listApiKeys(userId);
  }
}

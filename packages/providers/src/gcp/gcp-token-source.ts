import { SignJWT, importPKCS8, type CryptoKey } from "jose";
import { DumontError } from "@dumont/core";
import type { GcpServiceAccount } from "./gcp-credentials";
import { OAuthErrorBody, OAuthTokenReply } from "./gcp-schemas";
import { cleanText, exchange, parseReply, withRetries, type GcpTransportOptions } from "./gcp-transport";

export const COMPUTE_SCOPE = "https://www.googleapis.com/auth/compute";

// A token is used until this long before it expires, so one never dies in flight.
const REFRESH_MARGIN_MS = 60_000;

const AUTH_ERRORS = new Set(["invalid_grant", "invalid_client", "unauthorized_client", "access_denied"]);

/**
 * Access tokens for a service account by OAuth2's JWT-bearer grant (RFC 7523), as Google's
 * client libraries get them: an RS256 assertion signed with the account's key, traded at its
 * `token_uri`. One token is shared by concurrent callers and reused until a minute before expiry.
 */
export class GcpTokenSource {
  private key: Promise<CryptoKey> | undefined;
  private current: { token: string; refreshAt: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly account: GcpServiceAccount,
    private readonly transport: GcpTransportOptions,
  ) {}

  async accessToken(): Promise<string> {
    if (this.current && Date.now() < this.current.refreshAt) return this.current.token;
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Forgets `token` after the cloud refused it (revoked, or the server restarted), so the next call asks again. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private async fetchToken(): Promise<string> {
    const assertion = await this.signAssertion();
    const body = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion });
    const tokenUrl = this.account.token_uri;
    const reply = await withRetries(this.transport, async () => {
      const result = await exchange(this.transport, {
        url: tokenUrl,
        init: {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
          body: body.toString(),
        },
      });
      if ("networkError" in result) {
        return {
          kind: "retry" as const,
          error: new DumontError({
            code: "PROVIDER_ERROR",
            message: `cannot reach the standby cloud's token endpoint ${new URL(tokenUrl).origin}`,
            cause: result.networkError,
          }),
        };
      }
      if (result.status === 429 || result.status >= 500) {
        return {
          kind: "retry" as const,
          retryAfterMs: result.retryAfterMs,
          error: new DumontError({
            code: result.status === 429 ? "PROVIDER_RATE_LIMITED" : "PROVIDER_ERROR",
            message: `the standby cloud's token endpoint answered ${result.status}`,
            details: { provider_status: result.status },
          }),
        };
      }
      return { kind: "done" as const, value: result };
    });
    if (reply.status !== 200) throw this.refusal(reply.status, reply.json, reply.excerpt);
    const token = parseReply(OAuthTokenReply, reply.json, "the token request");
    const lifetimeMs = token.expires_in * 1000;
    this.current = {
      token: token.access_token,
      refreshAt: Date.now() + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2),
    };
    return token.access_token;
  }

  private refusal(status: number, json: unknown, excerpt: string): DumontError {
    const oauth = OAuthErrorBody.safeParse(json);
    const error = oauth.success ? oauth.data.error : undefined;
    const description = cleanText(oauth.success ? (oauth.data.error_description ?? "") : excerpt);
    const said = [error, description].filter(Boolean).join(": ") || `status ${status}`;
    const details = { provider_status: status, provider_error: error ?? null };
    if ((error && AUTH_ERRORS.has(error)) || status === 401 || status === 403) {
      return new DumontError({
        code: "PROVIDER_AUTH_FAILED",
        message: `the standby cloud refused service account ${this.account.client_email}: ${said}`,
        details,
        hint: "Check that the key in GCP_CREDENTIALS is current (not deleted or disabled) and the machine's clock is right.",
      });
    }
    return new DumontError({ code: "PROVIDER_ERROR", message: `the token request failed: ${said}`, details });
  }

  private async signAssertion(): Promise<string> {
    this.key ??= importPKCS8(this.account.private_key, "RS256").catch(() => {
      this.key = undefined;
      // No cause: it could quote the key material.
      throw new DumontError({
        code: "VALIDATION_FAILED",
        message: "the GCP credentials' private_key cannot be read as an RSA PKCS#8 key",
      });
    });
    const key = await this.key;
    return new SignJWT({ scope: COMPUTE_SCOPE })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.account.private_key_id })
      .setIssuer(this.account.client_email)
      .setAudience(this.account.token_uri)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key);
  }
}

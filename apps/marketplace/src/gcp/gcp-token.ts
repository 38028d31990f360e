/**
 * @module The OAuth token endpoint of the emulated project: the JWT-bearer grant (RFC 7523) a
 * service account uses, and the opaque bearer tokens it issues.
 */
import { randomBytes } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import { OAuthError } from "./gcp-errors";
import { GCP_COMPUTE_SCOPES, type GcpProject } from "./gcp-project";

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** Google's access tokens live an hour and say 3599 s (the second it took to answer). */
const TOKEN_LIFETIME_MS = 3_600_000;
const EXPIRES_IN_S = 3599;
/** Google refuses assertions meant to live longer than an hour. */
const MAX_ASSERTION_LIFETIME_S = 3600;
const CLOCK_TOLERANCE_S = 60;
const SHORT_LIVED =
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

export interface TokenGrant {
  access_token: string;
  expires_in: number;
  token_type: "Bearer";
}

/**
 * Checks assertions against the service account's public key and keeps the tokens it issued.
 * Token lifetimes run on the real clock, never the market's simulated one: the JWT's `iat`/`exp`
 * come from the client's real clock, and a client caches a token for its real hour, so a token
 * that expired after 18 real seconds in a 200× market would only be a flood of 401s.
 */
export class GcpTokenIssuer {
  /** access token → real epoch ms at which it expires. */
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly project: GcpProject,
    /** The token endpoint's own URL: the audience an assertion must name. */
    private readonly tokenUri: () => string,
  ) {}

  /** `POST /gcp/token` with the form fields already parsed; throws OAuthError when refused. */
  async grant(form: Readonly<Record<string, unknown>>): Promise<TokenGrant> {
    const grantType = form.grant_type;
    if (grantType !== JWT_BEARER_GRANT) {
      if (typeof grantType !== "string" || grantType === "")
        throw new OAuthError(400, "invalid_request", "Missing required parameter: grant_type");
      throw new OAuthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType}`);
    }
    const assertion = form.assertion;
    if (typeof assertion !== "string" || assertion === "")
      throw new OAuthError(400, "invalid_request", "Missing required parameter: assertion");
    await this.verifyAssertion(assertion);
    return { access_token: this.issue(), expires_in: EXPIRES_IN_S, token_type: "Bearer" };
  }

  /** True for a token this issuer gave out that has not expired. */
  isValid(token: string): boolean {
    const expiresAt = this.tokens.get(token);
    if (expiresAt === undefined) return false;
    if (expiresAt > Date.now()) return true;
    this.tokens.delete(token);
    return false;
  }

  private issue(): string {
    const now = Date.now();
    for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
    const token = `ya29.sim-${randomBytes(32).toString("base64url")}`;
    this.tokens.set(token, now + TOKEN_LIFETIME_MS);
    return token;
  }

  private async verifyAssertion(assertion: string): Promise<void> {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(assertion).kid;
    } catch {
      throw new OAuthError(400, "invalid_grant", "Invalid JWT: the assertion is not a JWS compact serialization.");
    }
    // A key id this account does not have (deleted, or another account's) fails as Google says it.
    if (kid !== this.project.privateKeyId) throw new OAuthError(400, "invalid_grant", "Invalid JWT Signature.");
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(assertion, this.project.publicKey, {
        algorithms: ["RS256"],
        issuer: this.project.clientEmail,
        audience: this.tokenUri(),
        clockTolerance: CLOCK_TOLERANCE_S,
        maxTokenAge: MAX_ASSERTION_LIFETIME_S,
        requiredClaims: ["iat", "exp"],
      }));
    } catch (error) {
      throw new OAuthError(400, "invalid_grant", describeJoseFailure(error));
    }
    const iat = claims.iat;
    const exp = claims.exp;
    if (typeof iat !== "number" || typeof exp !== "number" || exp - iat > MAX_ASSERTION_LIFETIME_S || exp <= iat)
      throw new OAuthError(400, "invalid_grant", SHORT_LIVED);
    const scopes = typeof claims.scope === "string" ? claims.scope.split(/\s+/) : [];
    if (!scopes.some((scope) => GCP_COMPUTE_SCOPES.includes(scope)))
      throw new OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
  }
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "Invalid JWT Signature.";
  if (error instanceof joseErrors.JWTExpired) return SHORT_LIVED;
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "Invalid email or User ID";
    if (error.claim === "aud") return "Invalid JWT: Failed audience check.";
    if (error.claim === "iat" || error.claim === "exp" || error.claim === "nbf") return SHORT_LIVED;
    return `Invalid JWT: ${error.message}`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "Invalid JWT: the signing algorithm must be RS256.";
  return `Invalid JWT: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * @module The one emulated Google Cloud project of a market and its service account.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, randomInt, type KeyObject } from "node:crypto";

/** Every market emulates exactly this project. */
export const GCP_PROJECT_ID = "dumont-sim";
export const GCP_SERVICE_ACCOUNT_EMAIL = `dumont-standby@${GCP_PROJECT_ID}.iam.gserviceaccount.com`;
/** The scope the provider asks for; `cloud-platform` covers it too, as on Google. */
export const GCP_COMPUTE_SCOPES: readonly string[] = [
  "https://www.googleapis.com/auth/compute",
  "https://www.googleapis.com/auth/cloud-platform",
];

/** A service account key file as Google's console downloads it (the fields clients read). */
export interface ServiceAccountKeyFile {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

/**
 * The project and its service account: a fresh RSA-2048 key pair per market start, so a key file
 * of an earlier run (or another market) is refused, as a deleted key is on Google.
 */
export class GcpProject {
  readonly projectId = GCP_PROJECT_ID;
  readonly clientEmail = GCP_SERVICE_ACCOUNT_EMAIL;
  /** 40 hex digits, like Google's key ids; the JWT header's `kid`. */
  readonly privateKeyId = randomBytes(20).toString("hex");
  /** 21 digits, like Google's numeric client ids. */
  readonly clientId = [randomInt(1, 10), randomInt(0, 1e10), randomInt(0, 1e10)]
    .map((part, index) => (index === 0 ? String(part) : String(part).padStart(10, "0")))
    .join("");
  readonly publicKey: KeyObject;
  private readonly privateKeyPem: string;

  constructor() {
    const pair = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    this.privateKeyPem = pair.privateKey;
    this.publicKey = createPublicKey(pair.publicKey);
  }

  /** The key file, pointing its `token_uri` at this market's token endpoint. */
  serviceAccountKey(tokenUri: string): ServiceAccountKeyFile {
    return {
      type: "service_account",
      project_id: this.projectId,
      private_key_id: this.privateKeyId,
      private_key: this.privateKeyPem,
      client_email: this.clientEmail,
      client_id: this.clientId,
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: tokenUri,
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(this.clientEmail)}`,
      universe_domain: "googleapis.com",
    };
  }
}

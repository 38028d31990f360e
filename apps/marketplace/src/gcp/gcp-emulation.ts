/**
 * @module A market's emulated Google Cloud project, put together: the project and its service
 * account, the token endpoint, the operations and the VMs. The market creates one at start.
 */
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SimClock } from "../clock";
import type { SandboxNetwork } from "../sandbox/sandbox-network";
import { GcpCompute } from "./gcp-compute";
import { GcpOperations } from "./gcp-operations";
import { GcpProject } from "./gcp-project";
import { GcpTokenIssuer } from "./gcp-token";

/** Where the service account key file is written, for a standalone market to hand to a server. */
export const SERVICE_ACCOUNT_FILE = "gcp-service-account.json";

/** What `RunningMarketplace.gcp` tells a client of the emulated project. */
export interface GcpEndpoints {
  /** `<market>/compute/v1`: the base URL in place of https://compute.googleapis.com/compute/v1. */
  computeUrl: string;
  /** The service account key file's JSON (its `token_uri` is this market's `/gcp/token`). */
  serviceAccountJson: string;
  /** Where that JSON is on disk (`<dataDir>/gcp-service-account.json`, mode 0600). */
  serviceAccountFile: string;
  projectId: string;
}

export interface GcpEmulationOptions {
  clock: SimClock;
  dataDir: string;
  network: SandboxNetwork;
  sftpServer: string | undefined;
  logger: Logger;
}

export class GcpEmulation {
  readonly project = new GcpProject();
  readonly operations: GcpOperations;
  readonly compute: GcpCompute;
  readonly tokens: GcpTokenIssuer;
  private baseUrl: string | undefined;

  constructor(private readonly options: GcpEmulationOptions) {
    this.operations = new GcpOperations(options.clock);
    this.compute = new GcpCompute({ ...options, operations: this.operations });
    this.tokens = new GcpTokenIssuer(this.project, () => this.tokenUri);
  }

  /** Known once the market listens: the routes exist before the port does. */
  setBaseUrl(url: string): void {
    this.baseUrl = url;
  }

  get tokenUri(): string {
    return `${this.base()}/gcp/token`;
  }

  get computeUrl(): string {
    return `${this.base()}/compute/v1`;
  }

  /** Writes the key file (0600: it holds the private key) and says where everything is. */
  async publish(): Promise<GcpEndpoints> {
    const serviceAccountJson = `${JSON.stringify(this.project.serviceAccountKey(this.tokenUri), null, 2)}\n`;
    const serviceAccountFile = join(this.options.dataDir, SERVICE_ACCOUNT_FILE);
    await writeFile(serviceAccountFile, serviceAccountJson, { mode: 0o600 });
    // `mode` applies only to a new file; the one of an earlier run keeps its own otherwise.
    await chmod(serviceAccountFile, 0o600);
    return { computeUrl: this.computeUrl, serviceAccountJson, serviceAccountFile, projectId: this.project.projectId };
  }

  async shutdown(): Promise<void> {
    await this.compute.shutdown();
  }

  private base(): string {
    if (!this.baseUrl) throw new Error("the GCP emulation has no URL before the market listens");
    return this.baseUrl;
  }
}

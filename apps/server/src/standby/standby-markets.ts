import { createHash } from "node:crypto";
import { DumontError } from "@dumont/core";
import {
  GCP_COMPUTE_URL,
  GcpComputeProvider,
  loadGcpCredentials,
  parseGcpServiceAccount,
  type StandbyProvider,
} from "@dumont/providers";
import type { SettingsService } from "../account/settings-service";

/**
 * Which GCP project a standby lives in: the user's own (settings), the server's (GCP_CREDENTIALS)
 * or the embedded market's simulated one. Stored on each association so it is driven by the same.
 */
export type StandbyMarketKind = "embedded" | "server" | "user";

/** The local market's emulated GCP project (simulated: no real machines, no money). */
export interface EmbeddedGcp {
  computeUrl: string;
  serviceAccountJson: string;
}

export interface StandbyMarketsOptions {
  settings: SettingsService;
  embedded: EmbeddedGcp | undefined;
  /** GCP_CREDENTIALS: a service-account JSON or its path. */
  serverCredentials: string | undefined;
  serverComputeUrl: string;
}

/**
 * Picks the GCP project for a user's standbys: their own service account, else the server's,
 * else the embedded market's simulated project. A project whose Compute URL is not Google's is an
 * emulation and is labelled simulated. Providers are built once per project and shared.
 */
export class StandbyMarkets {
  private readonly cache = new Map<string, StandbyProvider>();

  constructor(private readonly options: StandbyMarketsOptions) {}

  async kindFor(userId: string): Promise<StandbyMarketKind> {
    if (await this.options.settings.gcpCredentials(userId)) return "user";
    if (this.options.serverCredentials) return "server";
    if (this.options.embedded) return "embedded";
    throw new DumontError({
      code: "MARKET_UNAVAILABLE",
      message: "no CPU standby provider is configured",
      hint: "Store a GCP service account with `dumont settings set-gcp-credentials <file>`, set GCP_CREDENTIALS on the server, or run it with its embedded market.",
    });
  }

  async providerFor(kind: StandbyMarketKind, ownerId: string): Promise<StandbyProvider> {
    switch (kind) {
      case "user": {
        const json = await this.options.settings.gcpCredentials(ownerId);
        if (!json) {
          throw new DumontError({
            code: "MARKET_UNAVAILABLE",
            message: "this standby was rented in your GCP project, whose credentials are no longer stored",
            hint: "Store them again with `dumont settings set-gcp-credentials <file>`.",
          });
        }
        const digest = createHash("sha256").update(json).digest("hex").slice(0, 16);
        return this.cached(`user:${ownerId}:${digest}`, () => this.build(json, this.computeUrlFor(json)));
      }
      case "server": {
        const credentials = this.options.serverCredentials;
        if (!credentials) throw new DumontError({ code: "MARKET_UNAVAILABLE", message: "GCP_CREDENTIALS is not set" });
        return this.cached("server", () => this.build(loadGcpCredentials(credentials), this.options.serverComputeUrl));
      }
      case "embedded": {
        const embedded = this.options.embedded;
        if (!embedded) throw new DumontError({ code: "MARKET_UNAVAILABLE", message: "the local marketplace is off" });
        return this.cached("embedded", () => this.build(embedded.serviceAccountJson, embedded.computeUrl));
      }
    }
  }

  /** The projects this server pays for (the orphan collector sweeps each; users' own are swept by their rows). */
  async accounts(): Promise<{ kind: StandbyMarketKind; provider: StandbyProvider }[]> {
    const kinds: StandbyMarketKind[] = [];
    if (this.options.embedded) kinds.push("embedded");
    if (this.options.serverCredentials) kinds.push("server");
    return Promise.all(kinds.map(async (kind) => ({ kind, provider: await this.providerFor(kind, "") })));
  }

  /**
   * A user's service account issued by the embedded market's emulation talks to that emulation
   * (same token endpoint); any other goes to the server's Compute URL (Google's by default).
   */
  private computeUrlFor(json: string): string {
    const embedded = this.options.embedded;
    if (embedded) {
      const ours = parseGcpServiceAccount(embedded.serviceAccountJson).token_uri;
      if (parseGcpServiceAccount(json).token_uri === ours) return embedded.computeUrl;
    }
    return this.options.serverComputeUrl;
  }

  private build(credentialsJson: string, computeUrl: string): StandbyProvider {
    return new GcpComputeProvider({
      credentialsJson,
      computeUrl,
      simulated: computeUrl.replace(/\/+$/, "") !== GCP_COMPUTE_URL,
    });
  }

  private cached(key: string, make: () => StandbyProvider): StandbyProvider {
    let provider = this.cache.get(key);
    if (!provider) {
      provider = make();
      this.cache.set(key, provider);
    }
    return provider;
  }
}

import { DumontError } from "@dumont/core";
import { GcpComputeProvider, loadGcpCredentials, type StandbyProvider } from "@dumont/providers";

/** Which GCP project a standby lives in. Stored on each association so it is driven by the same one. */
export type StandbyMarketKind = "embedded" | "server";

/** The local market's emulated GCP project (simulated: no real machines, no money). */
export interface EmbeddedGcp {
  computeUrl: string;
  serviceAccountJson: string;
}

export interface StandbyMarketsOptions {
  embedded: EmbeddedGcp | undefined;
  /** GCP_CREDENTIALS: a service-account JSON or its path. */
  serverCredentials: string | undefined;
  serverComputeUrl: string;
}

/** Google's own endpoint: anything else is an emulation, and is labelled simulated. */
const GOOGLE_COMPUTE_URL = "https://compute.googleapis.com/compute/v1";

/**
 * Picks the GCP project for a user's standbys: the server's (GCP_CREDENTIALS), else the embedded
 * market's simulated project. Providers are built once per project and shared.
 */
export class StandbyMarkets {
  private readonly cache = new Map<StandbyMarketKind, StandbyProvider>();

  constructor(private readonly options: StandbyMarketsOptions) {}

  kindFor(): StandbyMarketKind {
    if (this.options.serverCredentials) return "server";
    if (this.options.embedded) return "embedded";
    throw new DumontError({
      code: "MARKET_UNAVAILABLE",
      message: "no CPU standby provider is configured",
      hint: "Set GCP_CREDENTIALS to a service-account JSON (or its path), or run the server with its embedded market.",
    });
  }

  providerFor(kind: StandbyMarketKind): StandbyProvider {
    const cached = this.cache.get(kind);
    if (cached) return cached;
    let provider: StandbyProvider;
    switch (kind) {
      case "server": {
        if (!this.options.serverCredentials)
          throw new DumontError({ code: "MARKET_UNAVAILABLE", message: "GCP_CREDENTIALS is not set" });
        const computeUrl = this.options.serverComputeUrl;
        provider = new GcpComputeProvider({
          credentialsJson: loadGcpCredentials(this.options.serverCredentials),
          computeUrl,
          simulated: computeUrl.replace(/\/+$/, "") !== GOOGLE_COMPUTE_URL,
        });
        break;
      }
      case "embedded": {
        const embedded = this.options.embedded;
        if (!embedded) throw new DumontError({ code: "MARKET_UNAVAILABLE", message: "the local marketplace is off" });
        provider = new GcpComputeProvider({
          credentialsJson: embedded.serviceAccountJson,
          computeUrl: embedded.computeUrl,
          simulated: true,
        });
        break;
      }
    }
    this.cache.set(kind, provider);
    return provider;
  }

  /** Every project this server rents standbys in (the orphan collector sweeps each). */
  accounts(): { kind: StandbyMarketKind; provider: StandbyProvider }[] {
    const kinds: StandbyMarketKind[] = [];
    if (this.options.embedded) kinds.push("embedded");
    if (this.options.serverCredentials) kinds.push("server");
    return kinds.map((kind) => ({ kind, provider: this.providerFor(kind) }));
  }
}

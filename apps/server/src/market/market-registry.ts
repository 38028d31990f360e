import { DumontError } from "@dumont/core";
import { VastProvider, type Provider } from "@dumont/providers";
import type { SettingsService } from "../account/settings-service";

/** Where a user's machines are rented. Stored on each instance so it is driven by the same account. */
export type MarketKind = "embedded" | "server" | "user";

export interface EmbeddedMarket {
  url: string;
  apiKey: string;
  /** The market's emulated GCP project, where standbys are rented when no GCP_CREDENTIALS are set. */
  gcp?: { computeUrl: string; serviceAccountJson: string } | undefined;
}

export interface MarketRegistryOptions {
  settings: SettingsService;
  vastUrl: string;
  serverVastKey: string | undefined;
  embedded: EmbeddedMarket | undefined;
}

export interface MarketDescription {
  provider: string;
  simulated: boolean;
  note: string;
}

/**
 * Picks the marketplace account for a user: their own Vast.ai key, else the server's
 * VAST_API_KEY, else the embedded local marketplace (simulated, said so everywhere).
 */
export class MarketRegistry {
  private readonly cache = new Map<string, Provider>();

  constructor(private readonly options: MarketRegistryOptions) {}

  get embedded(): EmbeddedMarket | undefined {
    return this.options.embedded;
  }

  async kindFor(userId: string): Promise<MarketKind> {
    if (await this.options.settings.vastApiKey(userId)) return "user";
    if (this.options.serverVastKey) return "server";
    if (this.options.embedded) return "embedded";
    throw new DumontError({
      code: "MARKET_UNAVAILABLE",
      message: "no GPU marketplace is configured",
      hint: "Store your Vast.ai key with `dumont settings set-vast-key`, or start the server without DUMONT_MARKET=off.",
    });
  }

  async providerFor(userId: string, kind?: MarketKind): Promise<Provider> {
    const market = kind ?? (await this.kindFor(userId));
    switch (market) {
      case "user": {
        const key = await this.options.settings.vastApiKey(userId);
        if (!key) {
          throw new DumontError({
            code: "MARKET_UNAVAILABLE",
            message: "this instance was rented with your Vast.ai key, which is no longer stored",
            hint: "Store it again with `dumont settings set-vast-key`.",
          });
        }
        return this.provider(`user:${userId}:${key.slice(-6)}`, this.options.vastUrl, key, false);
      }
      case "server":
        if (!this.options.serverVastKey)
          throw new DumontError({ code: "MARKET_UNAVAILABLE", message: "VAST_API_KEY is not set" });
        return this.provider("server", this.options.vastUrl, this.options.serverVastKey, false);
      case "embedded":
        if (!this.options.embedded)
          throw new DumontError({ code: "MARKET_UNAVAILABLE", message: "the local marketplace is off" });
        return this.provider("embedded", this.options.embedded.url, this.options.embedded.apiKey, true);
    }
  }

  /** Accounts the orphan collector sweeps (users' own keys are swept via their instances). */
  sharedAccounts(): { kind: MarketKind; provider: Provider }[] {
    const accounts: { kind: MarketKind; provider: Provider }[] = [];
    if (this.options.embedded) {
      accounts.push({
        kind: "embedded",
        provider: this.provider("embedded", this.options.embedded.url, this.options.embedded.apiKey, true),
      });
    }
    if (this.options.serverVastKey) {
      accounts.push({
        kind: "server",
        provider: this.provider("server", this.options.vastUrl, this.options.serverVastKey, false),
      });
    }
    return accounts;
  }

  describe(provider: Provider): MarketDescription {
    return provider.capabilities.simulated
      ? {
          provider: provider.name,
          simulated: true,
          note: "SIMULATED local marketplace: machines are sandboxes on this computer, GPUs are not real, no money is spent.",
        }
      : { provider: provider.name, simulated: false, note: "Real marketplace: renting spends real credit." };
  }

  private provider(cacheKey: string, baseUrl: string, apiKey: string, simulated: boolean): Provider {
    let provider = this.cache.get(cacheKey);
    if (!provider) {
      provider = new VastProvider({ baseUrl, apiKey, simulated, backoffMs: simulated ? 100 : 500 });
      this.cache.set(cacheKey, provider);
    }
    return provider;
  }
}

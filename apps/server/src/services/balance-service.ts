import { z } from "zod";
import { DumontError } from "@dumont/core";
import type { SettingsService } from "./settings-service";

const VastUser = z.looseObject({
  credit: z.number().default(0),
  balance: z.number().default(0),
  balance_threshold: z.number().nullable().default(0),
  email: z.string().nullable().default(null),
});

export interface BalanceView {
  credit: number;
  balance: number;
  balance_threshold: number;
  email: string | null;
  provider: string;
  simulated: boolean;
}

/**
 * Marketplace credit for a user: their own Vast.ai key first, else the server's VAST_API_KEY.
 * The provider layer (issue "GPU marketplace") takes this over and adds the local marketplace.
 */
export class BalanceService {
  constructor(
    private readonly settings: SettingsService,
    private readonly options: { vastUrl: string; serverVastKey: string | undefined },
  ) {}

  async forUser(userId: string): Promise<BalanceView> {
    const key = (await this.settings.vastApiKey(userId)) ?? this.options.serverVastKey;
    if (!key) {
      throw new DumontError({
        code: "MARKET_UNAVAILABLE",
        message: "no Vast.ai API key is configured for you or for this server",
        hint: "Store yours with `dumont settings set-vast-key`, or start the server with VAST_API_KEY.",
      });
    }
    const url = new URL("/api/v0/users/current/", this.options.vastUrl);
    let response: Response;
    try {
      response = await fetch(url, { headers: { Authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(15_000) });
    } catch (cause) {
      throw new DumontError({
        code: "MARKET_UNAVAILABLE",
        message: `cannot reach the marketplace at ${url.origin}`,
        cause,
      });
    }
    if (!response.ok) {
      throw new DumontError({
        code: "PROVIDER_ERROR",
        message: `the marketplace answered ${response.status} to the balance request`,
        details: { provider_status: response.status },
        hint:
          response.status === 401 || response.status === 403
            ? "Check the Vast.ai API key in your settings."
            : undefined,
      });
    }
    const user = VastUser.parse(await response.json());
    return {
      credit: user.credit,
      balance: user.balance,
      balance_threshold: user.balance_threshold ?? 0,
      email: user.email,
      provider: "vast.ai",
      simulated: false,
    };
  }
}

import type { UserRow } from "@dumont/db";
import type { MarketRegistry } from "../market/market-registry";
import type { SpendingService, SpendingView } from "../spending/spending-service";

export interface BalanceView {
  account: "own" | "server";
  credit: number | null;
  balance: number | null;
  balance_threshold: number | null;
  email: string | null;
  provider: string;
  simulated: boolean;
  spending: SpendingView | null;
}

/**
 * Marketplace credit of the account the user's machines are rented with. The server's account
 * (its email and credit) is the operator's business: a user renting on it sees their own
 * spending and cap instead.
 */
export class BalanceService {
  constructor(
    private readonly markets: MarketRegistry,
    private readonly spending: SpendingService,
  ) {}

  async forUser(user: UserRow): Promise<BalanceView> {
    const kind = await this.markets.kindFor(user.id);
    const provider = await this.markets.providerFor(user.id, kind);
    const market = { provider: provider.name, simulated: provider.capabilities.simulated };
    const own = kind === "user";
    const hidden = { credit: null, balance: null, balance_threshold: null, email: null };
    const account =
      own || user.role === "operator"
        ? await provider.balance().then((b) => ({
            credit: b.credit,
            balance: b.balance,
            balance_threshold: b.balanceThreshold,
            email: b.email,
          }))
        : hidden;
    return {
      account: own ? "own" : "server",
      ...account,
      ...market,
      spending: own ? null : await this.spending.viewOf(user),
    };
  }
}

import type { MarketRegistry } from "../market/market-registry";

export interface BalanceView {
  credit: number;
  balance: number;
  balance_threshold: number;
  email: string | null;
  provider: string;
  simulated: boolean;
}

/** Marketplace credit of the account the user's machines are rented with. */
export class BalanceService {
  constructor(private readonly markets: MarketRegistry) {}

  async forUser(userId: string): Promise<BalanceView> {
    const provider = await this.markets.providerFor(userId);
    const balance = await provider.balance();
    return {
      credit: balance.credit,
      balance: balance.balance,
      balance_threshold: balance.balanceThreshold,
      email: balance.email,
      provider: provider.name,
      simulated: provider.capabilities.simulated,
    };
  }
}

import type { Command } from "commander";
import type { CliRuntime } from "../cli-runtime";
import { formatFields } from "../output";

export function registerBalance(program: Command, cli: CliRuntime): void {
  program
    .command("balance")
    .description("show your marketplace credit")
    .action(
      cli.action(async () => {
        const b = await (await cli.client()).call("getBalance", {});
        cli.print(b, () =>
          formatFields({
            credit: `$${b.credit.toFixed(2)}`,
            balance: `$${b.balance.toFixed(2)}`,
            account: b.email,
            market: b.simulated ? `${b.provider} (SIMULATED local market, no real money)` : b.provider,
          }),
        );
      }),
    );
}

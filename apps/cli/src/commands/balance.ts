import type { Command } from "commander";
import type { CliRuntime } from "../cli-runtime";
import { formatFields } from "../output";

export function registerBalance(program: Command, cli: CliRuntime): void {
  program
    .command("balance")
    .description("show your marketplace credit, or your spending and cap on the server's account")
    .action(
      cli.action(async () => {
        const b = await (await cli.client()).call("getBalance", {});
        const money = (v: number | null) => (v === null ? null : `$${v.toFixed(2)}`);
        const market = b.simulated ? `${b.provider} (SIMULATED local market, no real money)` : b.provider;
        const spending = b.spending;
        cli.print(b, () =>
          formatFields({
            account: b.account === "own" ? "your own Vast.ai key" : "the server's marketplace account",
            // The server account's credit and email are shown to the operator only.
            ...(b.credit === null ? {} : { credit: money(b.credit), balance: money(b.balance), email: b.email }),
            ...(spending
              ? {
                  "you spent": money(spending.spent_usd),
                  "your cap": spending.cap_usd === null ? "none" : money(spending.cap_usd),
                  remaining: money(spending.remaining_usd),
                }
              : {}),
            market,
          }),
        );
      }),
    );
}

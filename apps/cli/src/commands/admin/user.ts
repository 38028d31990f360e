import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { CliError } from "../../cli-runtime";
import { formatFields, formatTable } from "../../output";

const money = (v: number | null) => (v === null ? "none" : `$${v.toFixed(2)}`);

/** `dumont admin user list|set-cap`: accounts, their spending and caps (operator only). */
export function registerAdminUser(admin: Command, cli: CliRuntime): void {
  const user = admin.command("user").description("accounts, roles and spending caps (operator only)");
  user
    .command("list")
    .description("every account with its role, spending on the server's account and cap")
    .action(
      cli.action(async () => {
        const { users } = await (await cli.client()).call("listUsers", {});
        cli.print(users, () =>
          formatTable(
            ["id", "email", "role", "spent", "cap", "cap source"],
            users.map((u) => [
              u.id,
              u.email,
              u.role,
              money(u.spending.spent_usd),
              money(u.spending.cap_usd),
              u.spend_cap_override_usd === null ? "default" : "set",
            ]),
          ),
        );
      }),
    );
  user
    .command("set-cap")
    .description("set an account's spending cap in USD on the server's account (`default` restores the default)")
    .argument("<user>", "user id or email")
    .argument("<usd>", "dollars (0 = no renting on the server's account), or `default`")
    .action(
      cli.action(async (who: string, usd: string) => {
        const cap = usd === "default" ? null : Number(usd);
        if (cap !== null && (!Number.isFinite(cap) || cap < 0)) {
          throw new CliError(`expected dollars ≥ 0 or "default", got ${usd}`, undefined, "USAGE");
        }
        const client = await cli.client();
        let id = who;
        if (who.includes("@")) {
          const { users } = await client.call("listUsers", {});
          const found = users.find((u) => u.email === who.toLowerCase());
          if (!found) throw new CliError(`no account with email ${who}`, "See `dumont admin user list`.");
          id = found.id;
        }
        const updated = await client.call("setSpendCap", { params: { id }, body: { spend_cap_usd: cap } });
        cli.print(updated, () =>
          formatFields({
            email: updated.email,
            role: updated.role,
            spent: money(updated.spending.spent_usd),
            cap: money(updated.spending.cap_usd),
            "cap source": updated.spend_cap_override_usd === null ? "default" : "set by the operator",
          }),
        );
      }),
    );
}

import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { passwordFrom } from "../auth/session-output";
import { formatFields } from "../../output";

function role(value: string): "operator" | "user" {
  if (value !== "operator" && value !== "user") throw new InvalidArgumentError("expected operator or user");
  return value;
}

export function registerAdminCreate(admin: Command, cli: CliRuntime): void {
  admin
    .command("create")
    .description(
      "on the server's host: create an operator account (or make an existing one operator) in the server's database, without HTTP",
    )
    .argument("<email>")
    .argument("[password]", "prompted for when omitted and the account is new")
    .option("--role <role>", "operator or user", role, "operator")
    .action(
      cli.action(async (email: string, password: string | undefined, options: { role: "operator" | "user" }) => {
        // Same bundle, configuration (DUMONT_HOME, DATABASE_URL…) and database as `dumont server`.
        const server = await import("@dumont/server");
        const result = await server.createAccountOnHost({
          email,
          password: () => passwordFrom(password),
          role: options.role,
        });
        cli.print(result, () =>
          [
            result.created ? `Created ${result.role} ${result.email}` : `${result.email} is now ${result.role}`,
            formatFields({ "user id": result.id, database: result.database }),
            `Log in with: dumont auth login ${result.email}`,
          ].join("\n"),
        );
      }),
    );
}

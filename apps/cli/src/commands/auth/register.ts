import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { passwordFrom, saveSession } from "./session-output";

export function registerAuthRegister(auth: Command, cli: CliRuntime): void {
  auth
    .command("register")
    .description("create an account and log in (prompts for the password when omitted)")
    .argument("<email>")
    .argument("[password]")
    .action(
      cli.action(async (email: string, password?: string) => {
        const client = await cli.client({ anonymous: true });
        const session = await client.call("register", { body: { email, password: await passwordFrom(password) } });
        saveSession(cli, session, "Registered and logged in");
      }),
    );
}

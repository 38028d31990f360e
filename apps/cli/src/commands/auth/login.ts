import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { passwordFrom, saveSession } from "./session-output";

export function registerAuthLogin(auth: Command, cli: CliRuntime): void {
  auth
    .command("login")
    .description("log in and remember the session (prompts for the password when omitted)")
    .argument("<email>")
    .argument("[password]")
    .action(
      cli.action(async (email: string, password?: string) => {
        const client = await cli.client({ anonymous: true });
        const session = await client.call("login", { body: { email, password: await passwordFrom(password) } });
        saveSession(cli, session, "Logged in");
      }),
    );
}

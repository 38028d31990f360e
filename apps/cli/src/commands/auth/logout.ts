import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";

export function registerAuthLogout(auth: Command, cli: CliRuntime): void {
  auth
    .command("logout")
    .description("revoke this session on the server and forget it here")
    .action(
      cli.action(async () => {
        const profile = cli.profile();
        if (!profile.token)
          throw new CliError(`not logged in to ${cli.options.apiUrl}`, "Nothing to do.", "NOT_LOGGED_IN");
        const client = await cli.client();
        try {
          await client.call("logout", {});
        } finally {
          // Forget the token even if the server already considered it invalid.
          cli.saveProfile(() => ({}));
        }
        cli.print({ success: true }, () => `Logged out of ${cli.options.apiUrl}`);
      }),
    );
}

import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields } from "../../output";

export function registerAuthMe(auth: Command, cli: CliRuntime): void {
  auth
    .command("me")
    .description("show who you are logged in as")
    .action(
      cli.action(async () => {
        const me = await (await cli.client()).call("me", {});
        cli.print(me, () =>
          formatFields({
            email: me.user.email,
            role: me.user.role,
            "user id": me.user.id,
            "member since": me.user.created_at,
            token: `${me.token.kind} ${me.token.id}`,
            "token expires": me.token.expires_at ?? "never",
            server: cli.options.apiUrl,
          }),
        );
      }),
    );
}

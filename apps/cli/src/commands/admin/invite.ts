import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields, formatTable } from "../../output";

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 8760) throw new InvalidArgumentError("expected whole hours, 1-8760");
  return n;
}

/** `dumont admin invite create|list|revoke`: single-use registration codes (operator only). */
export function registerAdminInvite(admin: Command, cli: CliRuntime): void {
  const invite = admin.command("invite").description("single-use invite codes for registration (operator only)");
  invite
    .command("create")
    .description("create an invite code (shown once)")
    .option("--expires-in-hours <hours>", "how long it stays valid", hours, 168)
    .option("--note <text>", "who it is for")
    .action(
      cli.action(async (o: { expiresInHours: number; note?: string }) => {
        const created = await (
          await cli.client()
        ).call("createInvite", { body: { expires_in_hours: o.expiresInHours, note: o.note } });
        cli.print(created, () =>
          [
            formatFields({ code: created.code, id: created.id, expires: created.expires_at, note: created.note }),
            `Shown once. The person registers with: dumont auth register <email> --invite ${created.code}`,
          ].join("\n"),
        );
      }),
    );
  invite
    .command("list")
    .description("list invites (never the codes)")
    .action(
      cli.action(async () => {
        const { invites } = await (await cli.client()).call("listInvites", {});
        cli.print(invites, () =>
          invites.length === 0
            ? "No invites. Create one with `dumont admin invite create`."
            : formatTable(
                ["id", "prefix", "state", "expires", "used by", "note"],
                invites.map((i) => [i.id, `${i.prefix}…`, i.state, i.expires_at, i.used_by, i.note]),
              ),
        );
      }),
    );
  invite
    .command("revoke")
    .description("revoke an unused invite")
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const result = await (await cli.client()).call("revokeInvite", { params: { id } });
        cli.print(result, () => `Revoked invite ${id}`);
      }),
    );
}

import type { CliRuntime } from "../../cli-runtime";

interface SessionResponse {
  user: { id: string; email: string; role: string };
  token: string;
  expires_at: string;
}

/** Saves a fresh session for this server and says who is logged in (never prints the token). */
export function saveSession(cli: CliRuntime, session: SessionResponse, verb: string): void {
  cli.saveProfile(() => ({ token: session.token, email: session.user.email }));
  cli.print({ user: session.user, expires_at: session.expires_at }, () =>
    [
      `${verb} as ${session.user.email} on ${cli.options.apiUrl}`,
      `role: ${session.user.role}`,
      `session valid until ${session.expires_at}`,
    ].join("\n"),
  );
}

export async function passwordFrom(argument: string | undefined): Promise<string> {
  if (argument !== undefined) return argument;
  const { promptSecret } = await import("../../prompt");
  return promptSecret("Password: ");
}

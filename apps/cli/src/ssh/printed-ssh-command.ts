import { privateKeyFor, tildePath } from "./local-keys";
import type { AccountSshKey } from "./ssh-key-check";

/**
 * The server's `ssh -p PORT root@HOST` made to say which key it needs: with `-i` when the
 * private half of an account key is in ~/.ssh, else a note naming the key (or saying there is
 * none, so the command would be refused).
 */
export function keyedSshCommand(
  sshCommand: string,
  accountKeys: readonly AccountSshKey[],
): { command: string; note: string | null } {
  if (accountKeys.length === 0) {
    return {
      command: sshCommand,
      note: "Your account has no SSH key, so this is refused: run `dumont ssh-key add ~/.ssh/id_ed25519.pub` (it reaches this machine too).",
    };
  }
  const privateKey = privateKeyFor(accountKeys);
  if (privateKey) return { command: sshCommand.replace(/^ssh /, `ssh -i ${tildePath(privateKey)} `), note: null };
  const names = accountKeys.map((k) => `"${k.name}" (${k.fingerprint})`).join(" or ");
  return {
    command: sshCommand,
    note: `It needs the private half of your SSH key ${names}: pass it with -i if it is not in your agent or ~/.ssh.`,
  };
}

/** Renders `item` with its SSH command keyed, and the note (if any) on the line after. */
export function withSshKey<T extends { ssh_command: string | null }>(
  item: T,
  accountKeys: readonly AccountSshKey[],
  render: (item: T) => string,
): string {
  if (!item.ssh_command) return render(item);
  const { command, note } = keyedSshCommand(item.ssh_command, accountKeys);
  const text = render({ ...item, ssh_command: command });
  return note ? `${text}\n${note}` : text;
}

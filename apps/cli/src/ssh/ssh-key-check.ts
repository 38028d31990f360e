import type { DumontClient } from "@dumont/api-client";
import type { ErrorCode } from "@dumont/core";
import { CliError, type CliRuntime } from "../cli-runtime";
import { confirm } from "../prompt";
import { proposedPublicKeyFile, readPublicKeyFile, tildePath } from "./local-keys";

export interface AccountSshKey {
  id: string;
  name: string;
  fingerprint: string;
}

const SSH_KEY_REQUIRED: ErrorCode = "SSH_KEY_REQUIRED";

/**
 * Run before renting: a machine lets in only the keys on the account, so with none the SSH
 * command printed at the end could never work. On a terminal the usual key in ~/.ssh is offered
 * (y/N); otherwise (a script, --json) the command stops and says exactly what to run.
 * `--no-ssh-key-check` skips this for scripts that never log in.
 */
export async function ensureAccountSshKey(
  cli: CliRuntime,
  client: DumontClient,
  check: boolean,
): Promise<AccountSshKey[]> {
  const keys = await accountSshKeys(client);
  if (keys.length > 0 || !check) return keys;
  const proposal = proposedPublicKeyFile();
  const interactive = !cli.options.json && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
  if (interactive && proposal) {
    const yes = await confirm(
      `Your account has no SSH key, so the machine would refuse your ssh. Add ${tildePath(proposal)} now?`,
    );
    if (yes) {
      const added = await client.call("addSshKey", {
        body: { name: proposal.split("/").pop() ?? "key", public_key: readPublicKeyFile(proposal) },
      });
      process.stderr.write(`Added SSH key ${added.id} (${added.fingerprint}).\n`);
      return [added];
    }
  }
  const add = `dumont ssh-key add ${proposal ? tildePath(proposal) : "~/.ssh/id_ed25519.pub"}`;
  throw new CliError(
    "your account has no SSH key, so the machine you rent would refuse your ssh",
    proposal
      ? `Run \`${add}\` first (it also reaches machines already running), or pass --no-ssh-key-check if you will not log in.`
      : `Create a key with \`ssh-keygen -t ed25519\`, then run \`${add}\`; or pass --no-ssh-key-check if you will not log in.`,
    SSH_KEY_REQUIRED,
  );
}

export async function accountSshKeys(client: DumontClient): Promise<AccountSshKey[]> {
  return (await client.call("listSshKeys", {})).ssh_keys;
}

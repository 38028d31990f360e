import { DumontError, notFound } from "@dumont/core";
import type { SshKeyRow, SshKeysRepository } from "@dumont/db";
import { generateSshKeyPair, parsePublicKey } from "@dumont/providers";
import type { SecretBox } from "../security/secret-box";
import { newId } from "../security/tokens";

/**
 * Two kinds of keys per user: one key pair the control plane itself uses to reach the user's
 * machines (private half sealed at rest), and the public keys the user registers for their own
 * `ssh`. Every new machine accepts all of them for root.
 */
export class SshKeyService {
  constructor(
    private readonly repo: SshKeysRepository,
    private readonly box: SecretBox,
    private readonly now: () => number,
  ) {}

  /** The control plane's key pair for this user, created on first use. */
  async controlKey(userId: string): Promise<{ publicKey: string; privateKey: string }> {
    const [existing] = await this.repo.list(userId, "control");
    if (existing?.private_key_sealed) {
      return { publicKey: existing.public_key, privateKey: this.box.open(existing.private_key_sealed) };
    }
    const pair = generateSshKeyPair(`dumont-control-${userId}`);
    await this.repo.insert({
      id: newId("key"),
      owner_id: userId,
      kind: "control",
      name: "dumont control plane",
      public_key: pair.publicKey,
      fingerprint: parsePublicKey(pair.publicKey)?.fingerprint ?? "",
      private_key_sealed: this.box.seal(pair.privateKey),
      created_at: this.now(),
    });
    return pair;
  }

  async add(userId: string, name: string, publicKey: string): Promise<SshKeyRow> {
    const line = publicKey.trim().split("\n")[0] ?? "";
    const parsed = parsePublicKey(line);
    if (!parsed) {
      throw new DumontError({
        code: "VALIDATION_FAILED",
        message: "public_key is not an OpenSSH public key",
        hint: "Pass the .pub file, e.g. ~/.ssh/id_ed25519.pub (never the private key).",
      });
    }
    const row: SshKeyRow = {
      id: newId("key"),
      owner_id: userId,
      kind: "user",
      name,
      public_key: line,
      fingerprint: parsed.fingerprint,
      private_key_sealed: null,
      created_at: this.now(),
    };
    await this.repo.insert(row);
    return row;
  }

  list(userId: string): Promise<SshKeyRow[]> {
    return this.repo.list(userId, "user");
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.repo.remove(userId, id))) throw notFound("SSH key", id);
  }

  /** Every public key a new machine of this user must accept. */
  async authorizedKeys(userId: string): Promise<string[]> {
    const control = await this.controlKey(userId);
    const user = await this.repo.list(userId, "user");
    return [control.publicKey, ...user.map((k) => k.public_key)];
  }
}

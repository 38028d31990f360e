import { DumontError, notFound } from "@dumont/core";
import type { SshKeyRow, SshKeysRepository } from "@dumont/db";
import { generateSshKeyPair, parsePublicKey } from "@dumont/providers";
import type { SecretBox } from "../security/secret-box";
import { newId } from "../security/tokens";
import type { KeyPropagationReport, SshKeyPropagation } from "./ssh-key-propagation";

/**
 * Two kinds of keys per user: one key pair the control plane itself uses to reach the user's
 * machines (private half sealed at rest), and the public keys the user registers for their own
 * `ssh`. Every new machine accepts all of them for root, and adding or removing a user key
 * changes the user's existing machines too (`SshKeyPropagation`).
 */
export class SshKeyService {
  constructor(
    private readonly repo: SshKeysRepository,
    private readonly box: SecretBox,
    private readonly now: () => number,
    private readonly propagation: SshKeyPropagation,
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

  /** Registers the key, then attaches it to every machine the user already has. */
  async add(
    userId: string,
    name: string,
    publicKey: string,
  ): Promise<{ key: SshKeyRow; machines: KeyPropagationReport }> {
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
    // Inserted first: a machine whose create call starts after this reads the key itself.
    await this.repo.insert(row);
    return { key: row, machines: await this.propagation.attachEverywhere(userId, line) };
  }

  list(userId: string): Promise<SshKeyRow[]> {
    return this.repo.list(userId, "user");
  }

  /** Forgets the key and detaches it from the user's machines (unless another entry holds the same key). */
  async remove(userId: string, id: string): Promise<KeyPropagationReport> {
    const row = (await this.repo.list(userId, "user")).find((k) => k.id === id);
    if (!row || !(await this.repo.remove(userId, id))) throw notFound("SSH key", id);
    const remaining = await this.repo.list(userId, "user");
    if (remaining.some((k) => k.fingerprint === row.fingerprint)) return { done: [], failed: [] };
    return this.propagation.detachEverywhere(userId, row.public_key);
  }

  /** Every public key a new machine of this user must accept. */
  async authorizedKeys(userId: string): Promise<string[]> {
    const control = await this.controlKey(userId);
    const user = await this.repo.list(userId, "user");
    return [control.publicKey, ...user.map((k) => k.public_key)];
  }
}

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const VERSION = "v1";

/**
 * Seals small secrets (users' marketplace keys, later SSH private keys) with AES-256-GCM.
 * Envelope: `v1.<iv>.<tag>.<ciphertext>` in base64url. The key comes from DUMONT_SECRET_KEY, or
 * is generated once into DUMONT_HOME/secret.key with mode 0600.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromConfig(options: { secretKey: string | undefined; home: string }): SecretBox {
    if (options.secretKey) return new SecretBox(deriveKey(options.secretKey));
    const file = join(options.home, "secret.key");
    if (!existsSync(file)) {
      mkdirSync(options.home, { recursive: true, mode: 0o700 });
      try {
        // "wx": if two processes race on first start, the loser reads the winner's key below.
        writeFileSync(file, randomBytes(32).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
    chmodSync(file, 0o600);
    return new SecretBox(deriveKey(readFileSync(file, "utf8").trim()));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  open(envelope: string): string {
    const [version, iv, tag, body] = envelope.split(".");
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error("unrecognised secret envelope");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  }
}

/** Accepts 32 random bytes in base64/base64url/hex, or any passphrase (hashed to 32 bytes). */
function deriveKey(material: string): Buffer {
  if (/^[0-9a-f]{64}$/i.test(material)) return Buffer.from(material, "hex");
  const decoded = Buffer.from(material, "base64url");
  if (decoded.length === 32) return decoded;
  return createHash("sha256").update(material, "utf8").digest();
}

import { ssh2Utils } from "./ssh2-runtime";

/**
 * A fresh ed25519 key pair in OpenSSH format. ssh2's generator drops a leading zero byte of the
 * public key about once in 300 keys, writing a key that neither ssh2 nor OpenSSH can read back;
 * such a pair is thrown away and drawn again.
 */
export function generateEd25519KeyPair(): { privateKey: string; publicKey: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2Utils.generateKeyPairSync("ed25519");
    if (!(ssh2Utils.parseKey(pair.private) instanceof Error) && !(ssh2Utils.parseKey(pair.public) instanceof Error)) {
      return { privateKey: pair.private, publicKey: pair.public };
    }
  }
  throw new Error("could not generate a readable ed25519 key pair");
}

import type { SecretBox } from "./secret-box";

const PREFIX = "sealed:";

/**
 * Environment variables a user hands to a machine often hold secrets (API keys, tokens), so they
 * are stored sealed like the Hugging Face token and opened only to be sent to the machine.
 * Rows written before sealing hold plain JSON and still open.
 */
export function sealEnv(box: SecretBox, env: Readonly<Record<string, string>>): string {
  return Object.keys(env).length === 0 ? "{}" : PREFIX + box.seal(JSON.stringify(env));
}

export function openEnv(box: SecretBox, stored: string): Record<string, string> {
  const json = stored.startsWith(PREFIX) ? box.open(stored.slice(PREFIX.length)) : stored;
  return JSON.parse(json) as Record<string, string>;
}

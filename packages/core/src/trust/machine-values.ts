/**
 * Values a rented machine reports about itself (exit codes, phases, sizes, messages). The
 * machine is a stranger's host running the user's code as root, so each is parsed strictly,
 * like an HTTP body: anything unexpected is a clear failure, never a stored value that could make
 * a later response fail.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** A process exit code: an integer 0–255 written in plain decimal, nothing else ("1.5", "1e400", "-1" are not). */
export function parseExitCode(raw: string): Parsed<number> {
  const text = raw.trim();
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return { ok: true, value: Number(text) };
  return { ok: false, problem: `the machine reported an invalid exit code ${describeRaw(text)}` };
}

/** A byte count: a non-negative integer below 2^53, in plain decimal. */
export function parseByteCount(raw: string): Parsed<number> {
  const text = raw.trim();
  if (/^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text))) return { ok: true, value: Number(text) };
  return { ok: false, problem: `the machine reported an invalid size ${describeRaw(text)}` };
}

/**
 * Text from a machine made safe to store and show: control characters (NUL breaks PostgreSQL
 * text, escapes repaint terminals) become spaces, and it is cut to `max` characters.
 */
export function untrustedText(raw: string, max = 500): string {
  // eslint-disable-next-line no-control-regex
  const clean = raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function describeRaw(text: string): string {
  return JSON.stringify(untrustedText(text, 40));
}

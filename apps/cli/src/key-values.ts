import { CliError } from "./cli-runtime";

/**
 * The seed CLI's `key=value` arguments (`dumont instance list status=running`), next to
 * `--flags`. Keys are matched through `aliases` (e.g. price → max_price); unknown keys are an error,
 * not silently dropped.
 */
export function parseKeyValues(args: readonly string[], aliases: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0)
      throw new CliError(`unexpected argument "${arg}"`, "Use key=value (e.g. price=0.5) or --flags.", "USAGE");
    const key = arg.slice(0, eq).trim().toLowerCase().replace(/-/g, "_");
    const canonical = aliases[key];
    if (!canonical) {
      throw new CliError(`unknown key "${key}"`, `Known keys: ${Object.keys(aliases).join(", ")}.`, "USAGE");
    }
    values[canonical] = arg.slice(eq + 1);
  }
  return values;
}

/** Flags override key=value arguments; undefined entries are dropped. */
export function merge(...sources: Record<string, string | number | boolean | undefined>[]): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source)) if (value !== undefined) merged[key] = String(value);
  }
  return merged;
}

import { CliError } from "../../cli-runtime";
import { parseKeyValues } from "../../key-values";

/** How each `key=value` of `standby configure|provision|pricing` is read. */
type Kind = "text" | "int" | "bool" | "list";

interface Setting {
  field: string;
  kind: Kind;
}

/** Every standby setting by the name typed (aliases included) → its API field and type. */
const SETTINGS: Record<string, Setting> = {
  zone: { field: "zone", kind: "text" },
  machine_type: { field: "machine_type", kind: "text" },
  type: { field: "machine_type", kind: "text" },
  disk_gb: { field: "disk_gb", kind: "int" },
  disk: { field: "disk_gb", kind: "int" },
  spot: { field: "spot", kind: "bool" },
  sync_interval: { field: "sync_interval_s", kind: "int" },
  sync_interval_s: { field: "sync_interval_s", kind: "int" },
  auto_standby: { field: "auto_standby", kind: "bool" },
  auto_failover: { field: "auto_failover", kind: "bool" },
  auto_recovery: { field: "auto_recovery", kind: "bool" },
  excludes: { field: "excludes", kind: "list" },
};

const FIELD_KIND = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.field, s.kind])) as Record<string, Kind>;

const TRUE = ["true", "yes", "on", "1"];
const FALSE = ["false", "no", "off", "0"];

export type StandbySettingValue = string | number | boolean | string[];

/**
 * Reads `key=value` arguments into the API's fields, typed: whole numbers, yes/no, and
 * comma-separated lists (`excludes=a,b`; `excludes=` clears it). Only `allowed` keys (by their
 * typed names) are accepted; a value that is not of its kind is a usage error here, and the
 * server checks the ranges (a refusal there is VALIDATION_FAILED, exit 2 as well).
 */
export function parseStandbySettings(
  args: readonly string[],
  allowed: readonly string[],
): Record<string, StandbySettingValue> {
  const aliases = Object.fromEntries(allowed.map((name) => [name, SETTINGS[name]?.field ?? name]));
  const raw = parseKeyValues(args, aliases);
  const typed: Record<string, StandbySettingValue> = {};
  for (const [field, value] of Object.entries(raw)) typed[field] = convert(field, value);
  return typed;
}

function convert(field: string, value: string): StandbySettingValue {
  const kind = FIELD_KIND[field] ?? "text";
  const text = value.trim();
  if (kind === "int") {
    if (!/^-?\d+$/.test(text)) throw usage(`${field} must be a whole number, got "${value}"`, `e.g. ${field}=30`);
    return Number(text);
  }
  if (kind === "bool") {
    if (TRUE.includes(text.toLowerCase())) return true;
    if (FALSE.includes(text.toLowerCase())) return false;
    throw usage(`${field} must be true or false, got "${value}"`, `e.g. ${field}=true (or yes/no, on/off, 1/0)`);
  }
  if (kind === "list") {
    return text === ""
      ? []
      : text
          .split(",")
          .map((p) => p.trim())
          .filter((p) => p !== "");
  }
  return text;
}

function usage(message: string, hint: string): CliError {
  return new CliError(message, hint, "USAGE");
}

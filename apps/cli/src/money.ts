/**
 * How the CLI shows money and time it is not sure of yet. Unknown values are said to be unknown
 * ("pending", "—"), never printed as zeros that read like facts.
 */

/** Dollars: cents for amounts that have them, more digits for the fractions cheap machines cost. */
export function usd(value: number): string {
  if (value === 0) return "$0";
  if (Math.abs(value) >= 1) return `$${value.toFixed(2)}`;
  if (Math.abs(value) >= 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(6)}`;
}

/** A price per hour, or "pending" when the marketplace has not quoted one yet. */
export function perHour(value: number | null | undefined): string {
  return value === null || value === undefined || value <= 0 ? "pending" : `$${value.toFixed(3)}/h`;
}

/** 2h 05m, 3m 07s, 12s; "—" when there is nothing to count yet. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, "0")}s`;
  return `${rest}s`;
}

/** The one line every human output about simulated machines carries. */
export const SIMULATED_BANNER =
  "SIMULATED local marketplace: machines are sandboxes on this computer, GPUs are not real, no money is spent.";

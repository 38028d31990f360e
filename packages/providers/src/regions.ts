// Region names live in core, where the API schemas validate them; providers filter on them.
export { REGIONS, countriesFor } from "@dumont/core";

/** "Texas, US" → "US"; "Germany" (no code) → null. */
export function countryOf(geolocation: string | null | undefined): string | null {
  const match = /,\s*([A-Z]{2})\s*(?:,|$)/.exec(geolocation ?? "");
  return match?.[1] ?? null;
}

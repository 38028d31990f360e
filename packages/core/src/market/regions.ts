/** Region names users type, as the two-letter country codes marketplaces filter on. */
export const REGIONS: Record<string, readonly string[]> = {
  US: ["US"],
  CA: ["CA"],
  BR: ["BR"],
  NA: ["US", "CA"],
  EU: [
    "DE",
    "FR",
    "FI",
    "SE",
    "NL",
    "GB",
    "PL",
    "BG",
    "HU",
    "RO",
    "HR",
    "IS",
    "ES",
    "IT",
    "NO",
    "CZ",
    "AT",
    "BE",
    "PT",
    "IE",
    "DK",
    "CH",
  ],
  ASIA: ["TW", "JP", "HK", "VN", "TH", "KR", "SG", "IN", "CN", "MY", "ID"],
  OCEANIA: ["AU", "NZ"],
};

/**
 * `global` (or nothing) → no filter; a region name → its countries; otherwise a comma-separated
 * list of country codes and region names, e.g. `US,EU,BR`.
 */
export function countriesFor(region: string | undefined): string[] | undefined {
  if (!region || region.toLowerCase() === "global") return undefined;
  const codes = new Set<string>();
  for (const part of region.split(",")) {
    const key = part.trim().toUpperCase();
    if (!key) continue;
    const named = REGIONS[key];
    if (named) for (const code of named) codes.add(code);
    else if (/^[A-Z]{2}$/.test(key)) codes.add(key);
    else
      throw new Error(
        `unknown region ${part.trim()}: use global, ${Object.keys(REGIONS).join(", ")}, or country codes`,
      );
  }
  return [...codes];
}

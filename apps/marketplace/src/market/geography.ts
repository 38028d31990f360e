/** A place hosts list themselves in: Vast's `geolocation` is "Region, CC". */
export interface Location {
  region: string;
  country: string;
  weight: number;
}

/** Countries from vast-api.md §6.4 plus Brazil (the test preset's BR), weighted like Vast's supply. */
export const LOCATIONS: readonly Location[] = [
  { region: "California", country: "US", weight: 8 },
  { region: "Texas", country: "US", weight: 7 },
  { region: "Virginia", country: "US", weight: 5 },
  { region: "Oregon", country: "US", weight: 4 },
  { region: "Nevada", country: "US", weight: 2 },
  // Vast lists some hosts with an unknown state: ", US".
  { region: "", country: "US", weight: 3 },
  { region: "Quebec", country: "CA", weight: 4 },
  { region: "Ontario", country: "CA", weight: 2 },
  { region: "Sao Paulo", country: "BR", weight: 3 },
  { region: "Hesse", country: "DE", weight: 4 },
  { region: "Bavaria", country: "DE", weight: 2 },
  { region: "Ile-de-France", country: "FR", weight: 3 },
  { region: "Uusimaa", country: "FI", weight: 2 },
  { region: "Stockholm", country: "SE", weight: 2 },
  { region: "North Holland", country: "NL", weight: 3 },
  { region: "England", country: "GB", weight: 3 },
  { region: "Masovia", country: "PL", weight: 2 },
  { region: "Sofia", country: "BG", weight: 2 },
  { region: "Budapest", country: "HU", weight: 1 },
  { region: "Bucharest", country: "RO", weight: 1 },
  { region: "Zagreb", country: "HR", weight: 1 },
  { region: "Reykjavik", country: "IS", weight: 1 },
  { region: "Taipei", country: "TW", weight: 2 },
  { region: "Tokyo", country: "JP", weight: 2 },
  { region: "Hong Kong", country: "HK", weight: 2 },
  { region: "Hanoi", country: "VN", weight: 1 },
  { region: "Bangkok", country: "TH", weight: 1 },
  { region: "New South Wales", country: "AU", weight: 1 },
];

export function geolocationText(location: Location): string {
  return `${location.region}, ${location.country}`;
}

/** The country of a `geolocation` string: its last two-letter token (SkyPilot and gpuhunt read it so). */
export function countryOf(geolocation: string | null): string | null {
  if (!geolocation) return null;
  const tokens = geolocation.split(",").map((t) => t.trim());
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i];
    if (token && /^[A-Z]{2}$/.test(token)) return token;
  }
  return null;
}

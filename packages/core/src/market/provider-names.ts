/**
 * The marketplaces Dumont rents from, by the name history and blacklist rows carry, and what
 * users type for each (`vast` is Vast.ai). An unknown name is refused rather than matching nothing.
 */
export const PROVIDER_NAMES: Readonly<Record<string, readonly string[]>> = {
  "vast.ai": ["vast.ai", "vast", "vastai", "vast-ai", "vast_ai"],
};

/** The canonical provider name for what a user typed, or undefined when no marketplace has it. */
export function canonicalProvider(typed: string): string | undefined {
  const key = typed.trim().toLowerCase();
  for (const [name, aliases] of Object.entries(PROVIDER_NAMES)) if (aliases.includes(key)) return name;
  return undefined;
}

/**
 * Every accepted spelling, any letter case, surrounding spaces allowed: a pattern JSON Schema can
 * carry (it has no case-insensitive flag, so each letter is a class such as `[vV]`).
 */
export function providerPattern(): RegExp {
  const spellings = Object.values(PROVIDER_NAMES)
    .flat()
    .map((alias) =>
      [...alias].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c.replace(".", "\\."))).join(""),
    );
  return new RegExp(`^\\s*(?:${spellings.join("|")})\\s*$`);
}

/**
 * GPU model names as Vast.ai lists them (its `gpu_name`, the value offer searches compare), so
 * what a user types (`RTX4090`, `rtx 4090`, `4090`) can be read as the market's own spelling.
 * The simulated market draws from a subset of these (a test keeps it so). A name not listed here
 * still searches as typed: marketplaces add models before this list does.
 */
export const KNOWN_GPU_NAMES: readonly string[] = [
  "GTX 1050",
  "GTX 1050 Ti",
  "GTX 1060",
  "GTX 1070",
  "GTX 1070 Ti",
  "GTX 1080",
  "GTX 1080 Ti",
  "GTX 1660",
  "GTX 1660 S",
  "GTX 1660 Ti",
  "RTX 2060",
  "RTX 2060S",
  "RTX 2070",
  "RTX 2070S",
  "RTX 2080",
  "RTX 2080S",
  "RTX 2080 Ti",
  "RTX 3060",
  "RTX 3060 Ti",
  "RTX 3070",
  "RTX 3070 Ti",
  "RTX 3080",
  "RTX 3080 Ti",
  "RTX 3090",
  "RTX 3090 Ti",
  "RTX 4060",
  "RTX 4060 Ti",
  "RTX 4070",
  "RTX 4070S",
  "RTX 4070 Ti",
  "RTX 4070S Ti",
  "RTX 4080",
  "RTX 4080S",
  "RTX 4090",
  "RTX 4090D",
  "RTX 5060 Ti",
  "RTX 5070",
  "RTX 5070 Ti",
  "RTX 5080",
  "RTX 5090",
  "RTX A2000",
  "RTX A4000",
  "RTX A4500",
  "RTX A5000",
  "RTX A6000",
  "RTX 4000Ada",
  "RTX 5000Ada",
  "RTX 6000Ada",
  "RTX PRO 6000",
  "Q RTX 4000",
  "Q RTX 6000",
  "Q RTX 8000",
  "Titan V",
  "Titan RTX",
  "Titan Xp",
  "Tesla P4",
  "Tesla P40",
  "Tesla P100",
  "Tesla V100",
  "Tesla T4",
  "A10",
  "A10g",
  "A16",
  "A30",
  "A40",
  "A100 PCIE",
  "A100 SXM4",
  "A100X",
  "A800 PCIE",
  "L4",
  "L40",
  "L40S",
  "H100 PCIE",
  "H100 SXM",
  "H100 NVL",
  "H200",
  "H200 NVL",
  "GH200 SXM",
  "B200",
];

/** What a typed GPU name reads as. */
export type GpuNameMatch =
  { kind: "known"; name: string } | { kind: "ambiguous"; choices: string[] } | { kind: "unknown"; name: string };

/** Lower case, vendor words dropped, no spaces, dashes or underscores: `NVIDIA GeForce RTX_4090` → `rtx4090`. */
function compact(name: string): string {
  return name
    .toLowerCase()
    .replace(/\b(nvidia|geforce)\b/g, "")
    .replace(/[\s_-]+/g, "");
}

/** A name's keys: its compact form, and that form without the family word (`RTX 4090` → `4090`). */
function keysOf(name: string): string[] {
  const full = compact(name);
  const bare = compact(name.replace(/^(RTX|GTX|Tesla)\s+/i, ""));
  return bare && bare !== full ? [full, bare] : [full];
}

const BY_KEY = new Map<string, string[]>();
for (const name of KNOWN_GPU_NAMES) {
  for (const key of keysOf(name)) BY_KEY.set(key, [...(BY_KEY.get(key) ?? []), name]);
}

/**
 * Reads a typed GPU name: an exact key wins (`4090` → `RTX 4090`, not `RTX 4090D`); otherwise
 * the names that contain it (`H100` → the three H100s: ambiguous); otherwise it stays as typed.
 */
export function matchGpuName(input: string): GpuNameMatch {
  const typed = input.trim().replace(/_/g, " ").replace(/\s+/g, " ");
  const key = compact(typed);
  if (!key) return { kind: "unknown", name: typed };
  const exact = BY_KEY.get(key);
  if (exact && exact.length === 1 && exact[0] !== undefined) return { kind: "known", name: exact[0] };
  const containing = exact ?? KNOWN_GPU_NAMES.filter((name) => keysOf(name).some((k) => k.includes(key)));
  const choices = [...new Set(containing)];
  if (choices.length === 1 && choices[0] !== undefined) return { kind: "known", name: choices[0] };
  if (choices.length > 1) return { kind: "ambiguous", choices };
  return { kind: "unknown", name: typed };
}

/** True when `name` is in the catalogue exactly as spelled. */
export function isKnownGpuName(name: string): boolean {
  return KNOWN_GPU_NAMES.includes(name);
}

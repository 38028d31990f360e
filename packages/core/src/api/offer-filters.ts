import { z } from "zod";
import { REGIONS, countriesFor } from "../market/regions";
import { matchGpuName } from "../market/gpu-names";

/**
 * Offer filters shared by every route that searches the market (offers, the wizard, jobs), so a
 * request that names a region no marketplace knows is refused at create exactly as a search is,
 * instead of being accepted and searching forever.
 */
export const RegionFilter = z
  .string()
  .max(200)
  .superRefine((region, ctx) => {
    try {
      countriesFor(region);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  })
  .describe(`global, ${Object.keys(REGIONS).join(", ")}… or country codes, comma-separated`);

/** A GPU name as stored (deployments written before names were normalised read back as they were). */
export const GpuNameFilter = z.string().max(64).describe("e.g. RTX 4090; any GPU when omitted");

/**
 * A GPU name as a request types it, read as the market spells it (`rtx4090`, `4090` → `RTX 4090`).
 * A name several models share (`H100`) is refused with the choices; one the catalogue does not
 * know searches as typed (marketplaces add models before the catalogue does).
 */
export const GpuNameInput = z
  .string()
  .max(64)
  .transform((typed, ctx) => {
    const match = matchGpuName(typed);
    if (match.kind === "ambiguous") {
      ctx.addIssue({
        code: "custom",
        message: `"${typed}" matches several GPUs: ${match.choices.join(", ")}; name one`,
        params: { choices: match.choices },
      });
      return z.NEVER;
    }
    return match.name;
  })
  .describe("e.g. RTX 4090 (rtx4090, 4090 read the same); any GPU when omitted");

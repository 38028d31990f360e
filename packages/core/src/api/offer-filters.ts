import { z } from "zod";
import { REGIONS, countriesFor } from "../market/regions";

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

export const GpuNameFilter = z.string().max(64).describe("e.g. RTX 4090; any GPU when omitted");

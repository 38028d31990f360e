import { isKnownGpuName, matchGpuName } from "@dumont/core";
import { satisfies, type Offer, type OfferQuery, type Provider } from "@dumont/providers";

/** One filter of a search as the user named it (`speed=fast (default)`), and the part of the query it is. */
export interface SearchFilter {
  label: string;
  only: Partial<OfferQuery>;
}

/**
 * Why a search found nothing: the filters are applied one at a time, in the order given, to what
 * the market lists for the same machine type (and GPU, when one is named), and the first one that
 * leaves nothing is named, with the counts before it. On a large real market the sample is the
 * cheapest few thousand offers, so the counts are a guide, not a census.
 */
export async function explainEmptySearch(
  provider: Provider,
  query: OfferQuery,
  filters: readonly SearchFilter[],
  blacklisted: (offers: Offer[]) => Promise<Offer[]>,
): Promise<string> {
  const base: OfferQuery = { machineType: query.machineType, limit: 500, order: "price" };
  const gpu = filters.find((f) => f.only.gpuName !== undefined);
  const sample = await provider.searchOffers(gpu ? { ...base, gpuName: gpu.only.gpuName } : base);
  const kind = query.machineType === "interruptible" ? "interruptible" : "on-demand";
  if (gpu && sample.length === 0) {
    const typed = gpu.only.gpuName ?? "";
    const known = isKnownGpuName(typed) || matchGpuName(typed).kind === "known";
    return (
      `no ${kind} offer has the GPU ${typed}` +
      (known ? " right now" : ` (not a GPU name we know; names look like "RTX 4090", "H100 SXM", "A100 PCIE")`)
    );
  }
  const counts: string[] = [`${sample.length} ${kind} offers${gpu ? ` with ${gpu.label}` : ""}`];
  let left = sample;
  for (const filter of filters) {
    if (filter === gpu) continue;
    const kept = left.filter((offer) => satisfies(offer, { ...base, ...filter.only }));
    if (kept.length === 0) {
      return `no offer matches: ${filter.label} left none (${counts.join(", then ")}); loosen or drop it`;
    }
    counts.push(`${kept.length} with ${filter.label}`);
    left = kept;
  }
  const hidden = await blacklisted(left);
  if (hidden.length === left.length) {
    return `no offer matches: all ${left.length} matching offers are on hosts you blacklisted (${counts.join(", then ")})`;
  }
  return `no offer matches right now (${counts.join(", then ")}): the market changed meanwhile, or other searches hold them`;
}

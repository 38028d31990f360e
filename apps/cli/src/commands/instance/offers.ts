import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { merge, parseKeyValues } from "../../key-values";
import { formatTable } from "../../output";

const ALIASES: Record<string, string> = {
  gpu: "gpu_name",
  gpu_name: "gpu_name",
  num_gpus: "num_gpus",
  gpus: "num_gpus",
  min_gpu_ram: "min_gpu_ram",
  price: "max_price",
  max_price: "max_price",
  region: "region",
  reliability: "min_reliability",
  min_reliability: "min_reliability",
  verified: "verified_only",
  verified_only: "verified_only",
  type: "machine_type",
  machine_type: "machine_type",
  speed: "speed",
  disk: "min_disk",
  min_disk: "min_disk",
  disk_size: "disk_size",
  preset: "preset",
  order: "order",
  limit: "limit",
};

interface Flags {
  gpu?: string;
  numGpus?: string;
  minGpuRam?: string;
  maxPrice?: string;
  region?: string;
  minReliability?: string;
  verified?: boolean;
  type?: string;
  speed?: string;
  minDisk?: string;
  diskSize?: string;
  preset?: string;
  order?: string;
  limit?: string;
}

export function registerInstanceOffers(instance: Command, cli: CliRuntime): void {
  instance
    .command("offers")
    .description("search GPU offers (key=value or --flags; --preset test = cheap, reliable, US/EU/BR/CA)")
    .argument("[filters...]", 'e.g. gpu="RTX 4090" price=0.5 region=EU type=spot')
    .option("--gpu <name>", 'GPU model, e.g. "RTX 4090"')
    .option("--num-gpus <n>")
    .option("--min-gpu-ram <gb>")
    .option("--max-price <usd>", "$/h")
    .option("--region <region>", "global, US, EU, ASIA, NA, BR… or country codes")
    .option("--min-reliability <0-1>")
    .option("--verified", "verified hosts only")
    .option("--type <type>", "on-demand | interruptible (spot)")
    .option("--speed <tier>", "slow | medium | fast | ultra (download bandwidth)")
    .option("--min-disk <gb>")
    .option("--disk-size <gb>", "the disk you will rent: prices include it (default 50, like instance create)")
    .option("--preset <name>", "test")
    .option("--order <order>", "price | score")
    .option("--limit <n>", "at most this many (default 20); limit=N works too")
    .action(
      cli.action(async (filters: string[], flags: Flags) => {
        const query = merge(parseKeyValues(filters, ALIASES), {
          gpu_name: flags.gpu,
          num_gpus: flags.numGpus,
          min_gpu_ram: flags.minGpuRam,
          max_price: flags.maxPrice,
          region: flags.region,
          min_reliability: flags.minReliability,
          verified_only: flags.verified,
          machine_type: flags.type,
          speed: flags.speed,
          min_disk: flags.minDisk,
          disk_size: flags.diskSize,
          preset: flags.preset,
          order: flags.order,
          limit: flags.limit,
        });
        if (query.machine_type === "spot") query.machine_type = "interruptible";
        const result = await (await cli.client()).call("listOffers", { query: query });
        cli.print(result, () => {
          const banner = result.market.simulated ? `[${result.market.note}]\n` : "";
          if (result.offers.length === 0)
            return `${banner}${capitalised(result.empty_reason ?? "no offers match; loosen the filters (price, region, gpu)")}.`;
          return (
            banner +
            formatTable(
              [
                "offer",
                "gpu",
                "vram",
                "$/h",
                "storage $/GB-mo",
                "where",
                "reliab.",
                "down Mb/s",
                "disk GB",
                "verified",
              ],
              result.offers.map((o) => [
                o.id,
                o.num_gpus > 1 ? `${o.num_gpus}x ${o.gpu_name}` : o.gpu_name,
                `${o.gpu_ram} GB`,
                o.dph_total.toFixed(3),
                o.storage_cost === null ? "?" : o.storage_cost.toFixed(3),
                o.geolocation,
                o.reliability.toFixed(3),
                Math.round(o.inet_down),
                Math.round(o.disk_space),
                o.verified ? "yes" : "no",
              ]),
            ) +
            `\n\n${pricedFor(result.offers[0]?.priced_disk_gb ?? null)}\nRent one with: dumont instance create <offer>${diskFlag(result.offers[0]?.priced_disk_gb ?? null)}`
          );
        });
      }),
    );
}

/** Says what the $/h column includes, so it matches what the machine will bill. */
function pricedFor(diskGb: number | null): string {
  return diskGb === null
    ? "$/h includes the marketplace's default disk; storage for a larger disk is billed on top (storage $/GB-mo ÷ 720 per GB-hour)."
    : `$/h is what the machine bills: compute + storage for a ${diskGb} GB disk (change with disk_size=<GB>).`;
}

function diskFlag(diskGb: number | null): string {
  return diskGb === null ? "" : ` --disk ${diskGb}`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

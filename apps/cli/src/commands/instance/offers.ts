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
    .option("--preset <name>", "test")
    .option("--order <order>", "price | score")
    .option("--limit <n>", "at most this many", "20")
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
          preset: flags.preset,
          order: flags.order,
          limit: flags.limit,
        });
        if (query.machine_type === "spot") query.machine_type = "interruptible";
        const result = await (await cli.client()).call("listOffers", { query: query });
        cli.print(result, () => {
          const banner = result.market.simulated ? `[${result.market.note}]\n` : "";
          if (result.offers.length === 0) return `${banner}No offers match. Loosen the filters (price, region, gpu).`;
          return (
            banner +
            formatTable(
              ["offer", "gpu", "vram", "$/h", "where", "reliab.", "down Mb/s", "disk GB", "verified"],
              result.offers.map((o) => [
                o.id,
                o.num_gpus > 1 ? `${o.num_gpus}x ${o.gpu_name}` : o.gpu_name,
                `${o.gpu_ram} GB`,
                o.dph_total.toFixed(3),
                o.geolocation,
                o.reliability.toFixed(3),
                Math.round(o.inet_down),
                Math.round(o.disk_space),
                o.verified ? "yes" : "no",
              ]),
            ) +
            `\n\nRent one with: dumont instance create <offer>`
          );
        });
      }),
    );
}

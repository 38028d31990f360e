import type { Command } from "commander";
import type { ApiRoutes, RouteInput } from "@dumont/core";
import type { CliRuntime } from "../../cli-runtime";
import { formatTable } from "../../output";
import { usd } from "../../money";
import { SIMULATED_STANDBY_NOTE } from "./standby-view";
import { parseStandbySettings } from "./standby-settings";

type Query = RouteInput<ApiRoutes["getStandbyPricing"]>["query"];

const KEYS = ["machine_type", "disk_gb", "spot"] as const;

/** `dumont standby pricing [machine_type= disk_gb= spot=]`: from the price data file, dated. */
export function registerStandbyPricing(standby: Command, cli: CliRuntime): void {
  standby
    .command("pricing")
    .description("what a standby costs (from the price data file: its date and source are shown)")
    .argument("[settings...]", `${KEYS.map((k) => `${k}=…`).join(" ")}`)
    .action(
      cli.action(async (settings: string[]) => {
        const query = parseStandbySettings(settings, KEYS) as Query;
        const p = await (await cli.client()).call("getStandbyPricing", { query });
        cli.print(p, () => {
          const lines = p.simulated ? [`[${SIMULATED_STANDBY_NOTE} Prices are GCP's, for reference.]`] : [];
          lines.push(
            `${p.machine_type}, ${p.disk_gb} GB disk, ${p.spot ? "spot" : "on-demand"}: ${usd(p.estimated_hourly_usd)}/h, about ${usd(p.estimated_monthly_usd)}/month`,
            `  machine ${usd(p.breakdown.vm_hourly)}/h (${usd(p.breakdown.vm_monthly)}/month) + disk ${usd(p.breakdown.disk_monthly)}/month`,
            `Prices as of ${p.prices_as_of} (source: ${p.prices_source})`,
            "",
            formatTable(
              ["machine type", "vcpus", "memory", "on-demand $/h", "spot $/h"],
              p.machine_types.map((m) => [
                m.name,
                m.vcpus,
                `${m.memory_gb} GB`,
                usd(m.on_demand_hourly),
                usd(m.spot_hourly),
              ]),
            ),
          );
          return lines.join("\n");
        });
      }),
    );
}

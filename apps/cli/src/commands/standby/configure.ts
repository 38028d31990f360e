import type { Command } from "commander";
import type { ApiRoutes, RouteInput } from "@dumont/core";
import type { CliRuntime } from "../../cli-runtime";
import { formatFields } from "../../output";
import { perHour } from "../../money";
import { SIMULATED_MARK, SIMULATED_STANDBY_NOTE } from "./standby-view";
import { parseStandbySettings } from "./standby-settings";

/** The fields of the standby config as the API returns them. */
export interface StandbyConfigLike {
  zone: string;
  machine_type: string;
  disk_gb: number;
  spot: boolean;
  sync_interval_s: number;
  auto_standby: boolean;
  auto_failover: boolean;
  auto_recovery: boolean;
  excludes: string[];
  provider: string;
  simulated: boolean;
  estimated_hourly_usd: number;
}

const KEYS = [
  "zone",
  "machine_type",
  "disk_gb",
  "spot",
  "sync_interval",
  "auto_standby",
  "auto_failover",
  "auto_recovery",
  "excludes",
] as const;

type ConfigureBody = RouteInput<ApiRoutes["configureStandby"]>["body"];

const onOff = (value: boolean) => (value ? "on" : "off");

export function configDetails(c: StandbyConfigLike): string {
  const mark = c.simulated ? ` ${SIMULATED_MARK}` : "";
  const lines = c.simulated ? [`[${SIMULATED_STANDBY_NOTE}]`] : [];
  lines.push(
    formatFields({
      provider: `${c.provider}${mark}`,
      machine: `${c.machine_type}, ${c.disk_gb} GB disk, ${c.spot ? "spot" : "on-demand"}, ${c.zone}`,
      price: `about ${perHour(c.estimated_hourly_usd)} per standby (machine + disk)${mark}`,
      "sync every": `${c.sync_interval_s} s`,
      excludes: c.excludes.length > 0 ? c.excludes.join(" ") : "nothing",
      "auto standby": `${onOff(c.auto_standby)} (every new GPU instance gets one)`,
      "auto failover": `${onOff(c.auto_failover)} (the CPU takes over when the GPU is lost)`,
      "auto recovery": `${onOff(c.auto_recovery)} (a new GPU is raced and the workspace restored)`,
    }),
  );
  return lines.join("\n");
}

/**
 * `dumont standby configure [key=value…]`: changes the settings new standbys are made with
 * (existing ones keep theirs). With no arguments it shows them.
 */
export function registerStandbyConfigure(standby: Command, cli: CliRuntime): void {
  standby
    .command("configure")
    .description("your standby settings (applies to standbys created afterwards); no arguments: show them")
    .argument("[settings...]", `${KEYS.map((k) => `${k}=…`).join(" ")} (excludes=a,b)`)
    .action(
      cli.action(async (settings: string[]) => {
        const body = parseStandbySettings(settings, KEYS) as ConfigureBody;
        const client = await cli.client();
        const config: StandbyConfigLike =
          Object.keys(body).length === 0
            ? await client.call("getStandbyConfig", {})
            : await client.call("configureStandby", { body });
        cli.print(config, () =>
          Object.keys(body).length === 0
            ? `${configDetails(config)}\n\nChange with key=value, e.g. dumont standby configure sync_interval=60 auto_standby=true`
            : `Saved. New standbys are made with these settings:\n\n${configDetails(config)}`,
        );
      }),
    );
}

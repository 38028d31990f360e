import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import { merge, parseKeyValues } from "../../key-values";
import { withSshKey } from "../../ssh/printed-ssh-command";
import { ensureAccountSshKey } from "../../ssh/ssh-key-check";
import { FINAL_STATUSES, deploymentSummary, type DeploymentLike } from "./deployment-view";

const ALIASES: Record<string, string> = {
  gpu: "gpu_name",
  gpu_name: "gpu_name",
  speed: "speed",
  price: "max_price",
  max_price: "max_price",
  region: "region",
  type: "machine_type",
  machine_type: "machine_type",
  disk: "disk_size",
  disk_size: "disk_size",
  num_gpus: "num_gpus",
  gpus: "num_gpus",
  strategy: "strategy",
  image: "image",
  bid: "bid_price",
};

const NUMERIC = new Set([
  "max_price",
  "disk_size",
  "num_gpus",
  "bid_price",
  "batch_size",
  "max_batches",
  "batch_timeout_seconds",
]);

interface Flags {
  gpu?: string;
  speed?: string;
  price?: string;
  region?: string;
  type?: string;
  disk?: string;
  numGpus?: string;
  strategy?: string;
  image?: string;
  bid?: string;
  batchSize?: string;
  maxBatches?: string;
  batchTimeout?: string;
  detach?: boolean;
  sshKeyCheck?: boolean;
}

/** `dumont wizard deploy [gpu] [speed=fast] [price=2.0] [region=global] [type=on-demand|spot]`. */
export function registerWizardDeploy(wizard: Command, cli: CliRuntime): void {
  wizard
    .command("deploy")
    .description("race several offers and keep the first machine that is really ready")
    .argument("[args...]", "optional GPU name first, then key=value: speed= price= region= type= disk= strategy=")
    .option("--gpu <name>")
    .option("--speed <tier>", "slow | medium | fast | ultra | any")
    .option("--price <usd>", "max $/h")
    .option("--region <region>", "global, US, EU, ASIA, BR… or country codes")
    .option("--type <type>", "on-demand | spot (interruptible)")
    .option("--disk <gb>")
    .option("--num-gpus <n>")
    .option("--strategy <s>", "race (default) | sequential (one machine at a time)")
    .option("--image <image>")
    .option("--bid <usd>", "bid for spot machines (default 1.2 × minimum bid)")
    .option("--batch-size <n>")
    .option("--max-batches <n>")
    .option("--batch-timeout <s>", "seconds before the next batch joins the race")
    .option("--detach", "start it and return at once")
    .option("--no-ssh-key-check", "rent even with no SSH key on your account (for scripts that never log in)")
    .action(
      cli.action(async (args: string[], flags: Flags) => {
        const positional = args.filter((a) => !a.includes("="));
        const keyValues = parseKeyValues(
          args.filter((a) => a.includes("=")),
          ALIASES,
        );
        const merged = merge(keyValues, {
          gpu_name: flags.gpu ?? (positional.length > 0 ? positional.join(" ").replace(/_/g, " ") : undefined),
          speed: flags.speed,
          max_price: flags.price,
          region: flags.region,
          machine_type: flags.type,
          disk_size: flags.disk,
          num_gpus: flags.numGpus,
          strategy: flags.strategy,
          image: flags.image,
          bid_price: flags.bid,
          batch_size: flags.batchSize,
          max_batches: flags.maxBatches,
          batch_timeout_seconds: flags.batchTimeout,
        });
        if (merged.machine_type === "spot") merged.machine_type = "interruptible";
        const body: Record<string, string | number> = {};
        for (const [key, value] of Object.entries(merged)) {
          if (NUMERIC.has(key)) {
            const n = Number(value);
            if (!Number.isFinite(n)) throw new CliError(`${key} must be a number, got "${value}"`, undefined, "USAGE");
            body[key] = n;
          } else body[key] = value;
        }
        const client = await cli.client();
        const keys = await ensureAccountSshKey(cli, client, flags.sshKeyCheck !== false);
        let deployment: DeploymentLike = await client.call("wizardDeploy", { body: body });
        if (flags.detach || cli.options.json) {
          if (!flags.detach) deployment = await follow(cli, deployment.id, () => undefined);
          cli.print(deployment, () => deploymentSummary(deployment));
          if (deployment.status === "failed") process.exitCode = 1;
          return;
        }
        process.stdout.write(
          `Deployment ${deployment.id} started (${deployment.strategy}). Ctrl-C leaves it running; cancel with \`dumont wizard cancel ${deployment.id}\`.\n`,
        );
        deployment = await follow(cli, deployment.id, (line) => process.stdout.write(`${line}\n`));
        process.stdout.write(`\n${withSshKey(deployment, keys, deploymentSummary)}\n`);
        if (deployment.status !== "completed") process.exitCode = 1;
      }),
    );
}

/** Polls until the deployment ends, reporting each candidate's state changes as a line. */
export async function follow(cli: CliRuntime, id: string, onLine: (line: string) => void): Promise<DeploymentLike> {
  const client = await cli.client();
  const seen = new Map<string, string>();
  let lastStatus = "";
  for (;;) {
    const d: DeploymentLike = await client.call("getDeployment", { params: { id } });
    if (d.status !== lastStatus) {
      onLine(
        `[${d.status}] batch ${d.progress.batch}, ${d.progress.offers_found} offers, ${d.progress.created} rented`,
      );
      lastStatus = d.status;
    }
    for (const c of d.candidates) {
      if (seen.get(c.instance_id) !== c.status) {
        seen.set(c.instance_id, c.status);
        const note = c.error ? ` — ${c.error.slice(0, 80)}` : "";
        onLine(
          `  ${c.instance_id}  batch ${c.batch}  ${c.gpu_name}  $${c.dph_total.toFixed(3)}/h  host ${c.host_id ?? "?"}: ${c.status}${note}`,
        );
      }
    }
    if (FINAL_STATUSES.includes(d.status)) return d;
    await sleep(1000);
  }
}

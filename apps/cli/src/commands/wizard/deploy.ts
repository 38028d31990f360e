import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import { merge, parseKeyValues } from "../../key-values";
import { withSshKey } from "../../ssh/printed-ssh-command";
import { ensureAccountSshKey } from "../../ssh/ssh-key-check";
import { money, type Progress } from "../../progress";
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
  bid_price: "bid_price",
  batch_size: "batch_size",
  max_batches: "max_batches",
  batch_timeout: "batch_timeout_seconds",
  batch_timeout_seconds: "batch_timeout_seconds",
  standby: "standby",
};

/** Keys other commands take that mean something else here: said plainly instead of "unknown key". */
const NOT_HERE: Record<string, string> = {
  limit:
    "wizard deploy has no limit=: it rents at most batch_size × max_batches machines (e.g. batch_size=3 max_batches=1); " +
    "`dumont instance offers … limit=N` lists offers",
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
  standby?: boolean;
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
    .option("--standby", "give the winner a CPU standby kept in sync (failover; see `dumont standby`)")
    .option("--no-standby", "no standby, whatever `standby configure auto_standby=` says")
    .option("--detach", "start it and return at once")
    .option("--no-ssh-key-check", "rent even with no SSH key on your account (for scripts that never log in)")
    .action(
      cli.action(async (args: string[], flags: Flags) => {
        const positional = args.filter((a) => !a.includes("="));
        const keyValueArgs = args.filter((a) => a.includes("="));
        for (const arg of keyValueArgs) {
          const key = arg.slice(0, arg.indexOf("=")).trim().toLowerCase();
          const explanation = NOT_HERE[key];
          if (explanation) throw new CliError(`unknown key "${key}" for wizard deploy`, explanation, "USAGE");
        }
        const keyValues = parseKeyValues(keyValueArgs, ALIASES);
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
        const body: Record<string, string | number | boolean> = {};
        if (flags.standby !== undefined) body.standby = flags.standby;
        for (const [key, value] of Object.entries(merged)) {
          if (key === "standby") {
            if (!["true", "false", "yes", "no", "1", "0"].includes(value.toLowerCase()))
              throw new CliError(`standby must be true or false, got "${value}"`, undefined, "USAGE");
            body.standby = ["true", "yes", "1"].includes(value.toLowerCase());
          } else if (NUMERIC.has(key)) {
            const n = Number(value);
            if (!Number.isFinite(n)) throw new CliError(`${key} must be a number, got "${value}"`, undefined, "USAGE");
            body[key] = n;
          } else body[key] = value;
        }
        const client = await cli.client();
        const keys = await ensureAccountSshKey(cli, client, flags.sshKeyCheck !== false);
        let deployment: DeploymentLike = await client.call("wizardDeploy", { body: body });
        if (flags.detach) {
          cli.print(deployment, () => deploymentSummary(deployment));
          return;
        }
        // Progress goes to stderr (silent with --json); stdout is the summary (or the JSON) at the end.
        const progress = cli.progress();
        progress.note(
          `Deployment ${deployment.id} started (${deployment.strategy}). Ctrl-C leaves it running; cancel with \`dumont wizard cancel ${deployment.id}\`.`,
        );
        deployment = await follow(cli, deployment.id, progress);
        cli.print(deployment, () => withSshKey(deployment, keys, deploymentSummary));
        if (!usable(deployment)) process.exitCode = 1;
      }),
    );
}

/** The race has a verified winner (ready: losers still being destroyed; completed: all gone). */
function usable(d: DeploymentLike): boolean {
  return (d.status === "ready" || d.status === "completed") && d.winner_instance_id !== null;
}

/** What the CLI saw of one candidate: when it appeared and, once gone, when it went (for cost so far). */
interface Seen {
  status: string;
  since: number;
  until: number | undefined;
  price: number;
}

const GONE = ["destroyed", "failed"];

/**
 * Follows the deployment until it ends, woken by its transitions on the event stream (a 1 s timer
 * catches candidates' own changes): one updating line with elapsed time, the race's state and the
 * candidates' states, a line per candidate change, and the cost so far (the server's figure; from
 * a server without one, estimated from what this CLI saw, marked "~").
 */
export async function follow(cli: CliRuntime, id: string, progress: Progress): Promise<DeploymentLike> {
  const client = await cli.client();
  const waker = cli.waker(id);
  const seen = new Map<string, Seen>();
  try {
    for (;;) {
      const d: DeploymentLike = await client.call("getDeployment", { params: { id } });
      const now = Date.now();
      for (const c of d.candidates) {
        const before = seen.get(c.instance_id);
        if (before?.status === c.status) continue;
        const gone = GONE.includes(c.status);
        seen.set(c.instance_id, {
          status: c.status,
          since: before?.since ?? now,
          until: gone ? (before?.until ?? now) : undefined,
          price: c.dph_total,
        });
        const note = c.error ? ` — ${c.error.slice(0, 80)}` : "";
        progress.note(
          `  ${c.instance_id}  batch ${c.batch}  ${c.gpu_name}  $${c.dph_total.toFixed(3)}/h  host ${c.host_id ?? "?"}: ${c.status}${note}`,
        );
      }
      const states = new Map<string, number>();
      for (const c of d.candidates) states.set(c.status, (states.get(c.status) ?? 0) + 1);
      const summary = [...states].map(([status, n]) => `${n} ${status}`).join(", ");
      progress.update(`${d.status} ${d.progress.batch} ${summary}`, () => {
        // The server's bill where it reports one; else what this CLI saw (price × time seen alive).
        const billed = (d as { total_cost_usd?: unknown }).total_cost_usd;
        const seenCost = [...seen.values()].reduce(
          (sum, c) => sum + (c.price * ((c.until ?? Date.now()) - c.since)) / 3_600_000,
          0,
        );
        const cost = typeof billed === "number" ? money(billed) : money(seenCost, true);
        return (
          `[${progress.elapsed()}] ${d.status}: batch ${d.progress.batch}, ${d.progress.offers_found} offers, ` +
          `${d.progress.created} rented${summary ? ` (${summary})` : ""}, cost so far ${cost}`
        );
      });
      // A verified winner is the user's to use at once; the server destroys the losers meanwhile
      // and says so (`wizard status` ends `completed` once every one is confirmed gone).
      if (FINAL_STATUSES.includes(d.status) || usable(d)) {
        progress.done();
        return d;
      }
      await waker.wait(1000);
      progress.tick();
    }
  } finally {
    waker.close();
  }
}

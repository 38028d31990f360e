import { InvalidArgumentError, type Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { withSshKey } from "../../ssh/printed-ssh-command";
import { ensureAccountSshKey } from "../../ssh/ssh-key-check";
import { instanceDetails } from "./instance-view";
import { seconds, waitForInstance } from "./instance-wait";

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got ${value}`);
  return n;
}

export function registerInstanceCreate(instance: Command, cli: CliRuntime): void {
  instance
    .command("create")
    .description("rent an offer; boots in the background (see `dumont instance get <id>`)")
    .argument("<offer_id>")
    .option("--image <image>", "container image")
    .option("--disk <gb>", "disk size in GB", positiveNumber)
    .option("--label <name>", "your name for it")
    .option("--bid <usd>", "bid in $/h: rent as interruptible (spot)", positiveNumber)
    .option("--env <KEY=VALUE...>", "environment variables")
    .option("--onstart <script>", "shell run when the machine starts")
    .option("--standby", "give it a CPU standby kept in sync (default: your standby settings' auto_standby)")
    .option("--no-standby", "no CPU standby, even if your standby settings give every new instance one")
    .option("--no-ssh-key-check", "rent even with no SSH key on your account (for scripts that never log in)")
    .option("--wait", "wait until it is running, showing progress (exit 1 if it fails)")
    .option("--timeout <s>", "give up waiting after this many seconds (with --wait)", seconds, 900)
    .action(
      cli.action(
        async (
          offerId: string,
          o: {
            image?: string;
            disk?: number;
            label?: string;
            bid?: number;
            env?: string[];
            onstart?: string;
            wait?: boolean;
            timeout: number;
            sshKeyCheck?: boolean;
            standby?: boolean;
          },
        ) => {
          const env = Object.fromEntries(
            (o.env ?? []).map((pair) => {
              const eq = pair.indexOf("=");
              return eq > 0 ? [pair.slice(0, eq), pair.slice(eq + 1)] : [pair, ""];
            }),
          );
          const client = await cli.client();
          // Before renting: a machine no key of yours opens would be money for nothing.
          const keys = await ensureAccountSshKey(cli, client, o.sshKeyCheck !== false);
          const created = await client.call("createInstance", {
            body: {
              offer_id: offerId,
              image: o.image,
              disk_size: o.disk,
              label: o.label,
              bid_price: o.bid,
              env: o.env ? env : undefined,
              onstart: o.onstart,
              standby: o.standby,
            },
          });
          const standbyNote = o.standby
            ? `\nA CPU standby follows it once it runs: dumont standby get ${created.id}`
            : "";
          if (o.wait) {
            const { instance, reached } = await waitForInstance(cli, created.id, "running", o.timeout);
            cli.print(instance, () => withSshKey(instance, keys, instanceDetails) + standbyNote);
            if (!reached) process.exitCode = 1;
            return;
          }
          cli.print(
            created,
            () =>
              `${instanceDetails(created)}\n\nBooting. Follow it with: dumont instance get ${created.id}${standbyNote}`,
          );
        },
      ),
    );
}

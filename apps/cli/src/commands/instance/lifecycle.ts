import type { Command } from "commander";
import type { CliRuntime } from "../../cli-runtime";
import { instanceDetails } from "./instance-view";

const ACTIONS = {
  pause: { route: "pauseInstance", description: "stop the machine, keeping its disk", done: "Pausing" },
  resume: { route: "resumeInstance", description: "start a paused machine again", done: "Resuming" },
  delete: {
    route: "deleteInstance",
    description: "destroy the machine (confirmed with the marketplace)",
    done: "Destroying",
  },
} as const;

/** `dumont instance pause|resume|delete <id>`: the same shape, one command each. */
export function registerInstanceLifecycle(instance: Command, cli: CliRuntime, action: keyof typeof ACTIONS): void {
  const spec = ACTIONS[action];
  instance
    .command(action)
    .description(spec.description)
    .argument("<id>")
    .action(
      cli.action(async (id: string) => {
        const updated = await (await cli.client()).call(spec.route, { params: { id } });
        cli.print(updated, () => `${spec.done} ${id} (now ${updated.status}).\n\n${instanceDetails(updated)}`);
      }),
    );
}

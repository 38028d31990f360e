import { InvalidArgumentError } from "commander";
import type { ApiRoutes, RouteResponse } from "@dumont/core";
import type { CliRuntime } from "../../cli-runtime";
import { money } from "../../progress";

type Instance = RouteResponse<ApiRoutes["getInstance"]>;

/** `--timeout <s>`: a positive number of seconds. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected seconds > 0, got ${value}`);
  return n;
}

/** The status each action waits for; `failed` (and `destroyed` unless it is the goal) end a wait early. */
export const WAIT_TARGET = { create: "running", resume: "running", pause: "paused", delete: "destroyed" } as const;

/**
 * Follows an instance until it reaches `target` or cannot any more, woken by its transitions on
 * the event stream (with a timer behind it), showing elapsed time, state and cost so far.
 */
export async function waitForInstance(
  cli: CliRuntime,
  id: string,
  target: string,
  timeoutS: number,
): Promise<{ instance: Instance; reached: boolean }> {
  const client = await cli.client();
  const progress = cli.progress();
  const waker = cli.waker(id);
  const deadline = Date.now() + timeoutS * 1000;
  try {
    for (;;) {
      const instance = await client.call("getInstance", { params: { id } });
      // cost_usd is the server's figure where it reports one; else price × time since created.
      const reported = (instance as { cost_usd?: unknown }).cost_usd;
      const cost =
        typeof reported === "number"
          ? money(reported)
          : money((instance.dph_total * (Date.now() - Date.parse(instance.created_at))) / 3_600_000, true);
      const note = instance.status_message ? ` — ${instance.status_message.slice(0, 60)}` : "";
      progress.update(instance.status, () => {
        const price = instance.dph_total > 0 ? ` ${instance.gpu_name} $${instance.dph_total.toFixed(3)}/h,` : "";
        return `[${progress.elapsed()}] ${id}: ${instance.status}${note} (waiting for ${target};${price} cost so far ${cost})`;
      });
      const ended = instance.status === "failed" || (instance.status === "destroyed" && target !== "destroyed");
      if (instance.status === target || ended) {
        progress.done();
        return { instance, reached: instance.status === target };
      }
      if (Date.now() > deadline) {
        progress.done();
        return { instance, reached: false };
      }
      await waker.wait(2000);
      progress.tick();
    }
  } finally {
    waker.close();
  }
}

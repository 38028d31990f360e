import type { CliRuntime } from "../../cli-runtime";
import { usd } from "../../money";
import { STANDBY_ENDED, activeMachine, type AssociationLike } from "./standby-view";

/**
 * Follows a standby until it reaches `target` with no action still pending, or cannot any more
 * (destroyed, failed), woken by its transitions on the event stream (with a timer behind it).
 * Progress on stderr: elapsed time, state, the active machine and the cost so far.
 */
export async function waitForStandby(
  cli: CliRuntime,
  id: string,
  target: string,
  timeoutS: number,
): Promise<{ association: AssociationLike; reached: boolean }> {
  const client = await cli.client();
  const progress = cli.progress();
  const first: AssociationLike = await client.call("getStandbyAssociation", { params: { id } });
  // Events are recorded under the association's id; `id` may be the instance's.
  const waker = cli.waker(first.id);
  const deadline = Date.now() + timeoutS * 1000;
  let association = first;
  try {
    for (;;) {
      const a = association;
      const pending = a.requested_action ? ` (${a.requested_action} requested)` : "";
      progress.update(`${a.status} ${a.requested_action ?? ""} ${a.active.role}`, () => {
        const note = a.error ? ` — ${a.error.slice(0, 60)}` : "";
        const mark = a.simulated ? " [SIMULATED]" : "";
        return `[${progress.elapsed()}] ${a.id}: ${a.status}${pending}${note}, active: ${activeMachine(a)} (waiting for ${target}; cost so far ${usd(a.cost_usd)})${mark}`;
      });
      const ended = STANDBY_ENDED.includes(a.status) && a.status !== target;
      if ((a.status === target && !a.requested_action) || ended || Date.now() > deadline) {
        progress.done();
        return { association: a, reached: a.status === target };
      }
      await waker.wait(1000);
      progress.tick();
      association = await client.call("getStandbyAssociation", { params: { id: first.id } });
    }
  } finally {
    waker.close();
  }
}

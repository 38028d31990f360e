import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CANARY_MACHINE, assertNever, type CanaryStatus } from "@dumont/core";
import type { CanaryRow } from "@dumont/db";
import type { Controller, ReconcileContext, ReconcileResult } from "../controllers/controller";
import { interruptibleSleep } from "../controllers/controller-runner";

const NOW: ReconcileResult = { requeueInMs: 0 };

/**
 * Walks a canary through its steps. Each step is an external side effect (a line appended to a
 * journal file outside the database), done the way real controllers must do them: look first
 * whether the effect already happened (a crash may have struck between doing it and recording
 * it), do it only if not, then record progress under the lease.
 */
export class CanaryController implements Controller<CanaryRow, CanaryStatus> {
  readonly table = "canaries" as const;
  readonly machine = CANARY_MACHINE;

  /**
   * @param killAfterStep Drill: SIGKILL this very process right after step N's side effect and
   *   before it is recorded — the worst moment to crash (DUMONT_DRILL_KILL_AFTER_CANARY_STEP).
   */
  constructor(
    private readonly journalDir: string,
    private readonly killAfterStep?: number,
  ) {
    mkdirSync(journalDir, { recursive: true });
  }

  journalPath(id: string): string {
    return join(this.journalDir, `${id}.journal`);
  }

  async reconcile(row: CanaryRow, ctx: ReconcileContext<CanaryRow, CanaryStatus>): Promise<ReconcileResult> {
    const status = row.status as CanaryStatus;
    switch (status) {
      case "pending":
        await ctx.transition("running", "started");
        return NOW;
      case "running":
        return this.runNextStep(row, ctx);
      case "verifying": {
        const problem = this.verifyJournal(row);
        if (problem) await ctx.transition("failed", problem, { error: problem });
        else await ctx.transition("completed", `all ${row.steps_total} steps done once`);
        return NOW;
      }
      case "completed":
      case "failed":
      case "cancelled":
        return NOW;
      default:
        return assertNever(status, "canary status");
    }
  }

  private async runNextStep(row: CanaryRow, ctx: ReconcileContext<CanaryRow, CanaryStatus>) {
    if (row.steps_done >= row.steps_total) {
      await ctx.transition("verifying", "steps finished");
      return NOW;
    }
    const step = row.steps_done + 1;
    if (row.fail_at_step === step) {
      const error = `step ${step} failed on purpose (fail_at_step)`;
      await ctx.transition("failed", error, { error });
      return NOW;
    }
    if (!this.journalSteps(row.id).includes(step)) {
      await interruptibleSleep(row.step_ms, ctx.signal);
      if (!(await ctx.holdLease())) return NOW;
      // O_APPEND of one short line is a single write: the step is either in the journal or not.
      appendFileSync(this.journalPath(row.id), `step ${step} by ${ctx.owner}\n`);
      if (this.killAfterStep === step) process.kill(process.pid, "SIGKILL");
    }
    await ctx.patch({ steps_done: step });
    return NOW;
  }

  private journalSteps(id: string): number[] {
    let text = "";
    try {
      text = readFileSync(this.journalPath(id), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return text
      .split("\n")
      .filter(Boolean)
      .map((line) => Number(/^step (\d+)/.exec(line)?.[1] ?? NaN));
  }

  /** Undefined when steps 1..N each appear exactly once, else what is wrong. */
  private verifyJournal(row: CanaryRow): string | undefined {
    const steps = this.journalSteps(row.id);
    const expected = Array.from({ length: row.steps_total }, (_, i) => i + 1);
    if (steps.length === expected.length && steps.every((s, i) => s === expected[i])) return undefined;
    return `journal shows steps [${steps.join(",")}], expected [${expected.join(",")}]`;
  }
}

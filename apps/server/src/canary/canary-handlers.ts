import { CANARY_MACHINE, notFound, type CanaryStatus } from "@dumont/core";
import type { CanaryRow } from "@dumont/db";
import type { HandlersFor } from "../http/handler-types";
import { iso, type ServerContext } from "../server-context";
import { newId } from "../security/tokens";

type Names = "createCanary" | "listCanaries" | "getCanary" | "cancelCanary";

export function canaryHandlers(ctx: ServerContext): HandlersFor<Names> {
  return {
    createCanary: async ({ body }, { principal }) => {
      const now = ctx.now();
      const row: CanaryRow = {
        id: newId("can"),
        owner_id: principal.user.id,
        status: CANARY_MACHINE.initial,
        lease_owner: null,
        lease_expires_at: null,
        next_run_at: now,
        created_at: now,
        updated_at: now,
        steps_total: body.steps,
        steps_done: 0,
        step_ms: body.step_ms,
        fail_at_step: body.fail_at_step ?? null,
        error: null,
      };
      await ctx.store.insertCreated("canaries", row, { reason: "created", actor: `user:${principal.user.id}` });
      ctx.runner.wake();
      return canaryView(row);
    },
    listCanaries: async (_input, { principal }) => {
      const rows = await ctx.repos.canaries.listOwned(principal.user.id);
      return { canaries: rows.map(canaryView), count: rows.length };
    },
    getCanary: async ({ params }, { principal }) => {
      const row = await ctx.repos.canaries.findOwned(principal.user.id, params.id);
      if (!row) throw notFound("canary", params.id);
      return canaryView(row);
    },
    cancelCanary: async ({ params }, { principal }) => {
      // Ownership first: someone else's id must read as missing, not as "cannot cancel".
      if (!(await ctx.repos.canaries.findOwned(principal.user.id, params.id))) throw notFound("canary", params.id);
      const row = await ctx.store.transitionOrThrow<CanaryStatus, CanaryRow>({
        table: "canaries",
        machine: CANARY_MACHINE,
        id: params.id,
        ownerId: principal.user.id,
        to: "cancelled",
        reason: "cancelled by user",
        actor: `user:${principal.user.id}`,
        now: ctx.now(),
      });
      return canaryView(row);
    },
  };
}

function canaryView(row: CanaryRow) {
  return {
    id: row.id,
    status: row.status as CanaryStatus,
    steps_total: row.steps_total,
    steps_done: row.steps_done,
    step_ms: row.step_ms,
    error: row.error,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

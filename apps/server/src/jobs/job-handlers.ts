import type { HandlersFor } from "../http/handler-types";
import type { ServerContext } from "../server-context";

type Names = "createJob" | "listJobs" | "getJob" | "cancelJob" | "jobLogs" | "jobOutputs";

export function jobHandlers(ctx: ServerContext): HandlersFor<Names> {
  const { jobs } = ctx;
  return {
    createJob: async ({ body }, { principal }) => {
      // A job rents a machine (through the wizard); past the spending cap it is refused up front.
      await ctx.spending.assertMayStart(principal.user.id);
      return jobs.view(await jobs.create(principal.user.id, body));
    },
    listJobs: async ({ query }, { principal }) => {
      const rows = await ctx.repos.jobs.listOwned(principal.user.id, query);
      return { jobs: await Promise.all(rows.map((row) => jobs.view(row))), total: rows.length };
    },
    getJob: async ({ params }, { principal }) => jobs.view(await jobs.get(principal.user.id, params.id)),
    cancelJob: async ({ params }, { principal }) => jobs.view(await jobs.cancel(principal.user.id, params.id)),
    jobLogs: async ({ params, query }, { principal }) => jobs.logs(principal.user.id, params.id, query),
    jobOutputs: async ({ params }, { principal }) => {
      const files = await jobs.outputs(principal.user.id, params.id);
      return { files, count: files.length };
    },
  };
}

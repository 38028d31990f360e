import type { HandlersFor } from "../http/handler-types";
import type { ServerContext } from "../server-context";

type Names =
  "wizardDeploy" | "listDeployments" | "getDeployment" | "cancelDeployment" | "wizardOffers" | "wizardConfig";

export function wizardHandlers(ctx: ServerContext): HandlersFor<Names> {
  const { wizard } = ctx;
  return {
    wizardDeploy: async ({ body }, { principal }) => {
      // Refused up front past the spending cap; each candidate is checked again when rented.
      await ctx.spending.assertMayStart(principal.user.id);
      const standby = body.standby ?? (await ctx.standby.config(principal.user.id)).auto_standby === 1;
      return wizard.view(await wizard.deploy(principal.user.id, { ...body, standby }));
    },
    listDeployments: async (_input, { principal }) => {
      const rows = await ctx.repos.deployments.listOwned(principal.user.id);
      const deployments = await Promise.all(rows.map((row) => wizard.view(row)));
      return { deployments, count: deployments.length };
    },
    getDeployment: async ({ params }, { principal }) => wizard.view(await wizard.get(principal.user.id, params.id)),
    cancelDeployment: async ({ params }, { principal }) =>
      wizard.view(await wizard.cancel(principal.user.id, params.id)),
    wizardOffers: async ({ query }, { principal }) => wizard.offersPreview(principal.user.id, query),
    wizardConfig: async () => Promise.resolve(wizard.config()),
  };
}

import type { HandlersFor } from "../http/handler-types";
import type { ServerContext } from "../server-context";
import type { SettingsView } from "../account/settings-service";

export function accountHandlers(ctx: ServerContext): HandlersFor<"getSettings" | "updateSettings" | "getBalance"> {
  return {
    getSettings: async (_input, { principal }) => settingsView(await ctx.settings.get(principal.user.id)),
    updateSettings: async ({ body }, { principal }) =>
      settingsView(
        await ctx.settings.update(principal.user.id, {
          vastApiKey: body.vast_api_key,
          gcpCredentials: body.gcp_credentials,
          preferences: body.settings,
        }),
      ),
    getBalance: async (_input, { principal }) => ctx.balance.forUser(principal.user),
  };
}

function settingsView(view: SettingsView) {
  return {
    vast_api_key: { configured: view.vastKeyConfigured, hint: view.vastKeyHint },
    gcp_credentials: { configured: view.gcpCredentialsConfigured, hint: view.gcpCredentialsHint },
    settings: view.preferences,
  };
}

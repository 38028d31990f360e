import { z } from "zod";
import { defineRoute } from "./route";

const Preferences = z.record(z.string(), z.unknown()).describe("Free-form per-user preferences");

export const Settings = z
  .object({
    vast_api_key: z.object({
      configured: z.boolean(),
      hint: z.string().nullable().describe("Last 4 characters, to recognise the key; never the key"),
    }),
    gcp_credentials: z.object({
      configured: z.boolean(),
      hint: z.string().nullable().describe("The service account's email and project; never the key"),
    }),
    settings: Preferences,
  })
  .meta({ id: "Settings" });

export const Spending = z
  .object({
    spent_usd: z.number().describe("Every second of every machine you rented on the server's account × its price"),
    cap_usd: z.number().nullable().describe("No new rentals once spending reaches it; null = no cap"),
    remaining_usd: z.number().nullable(),
  })
  .meta({ id: "Spending" });

export const Balance = z
  .object({
    account: z
      .enum(["own", "server"])
      .describe("own: your Vast.ai key; server: the server's marketplace account (VAST_API_KEY or the simulator)"),
    credit: z.number().nullable().describe("null when the account is the server's and you are not the operator"),
    balance: z.number().nullable(),
    balance_threshold: z.number().nullable(),
    email: z.string().nullable(),
    provider: z.string(),
    simulated: z.boolean().describe("true when the market is the embedded local simulator"),
    spending: Spending.nullable().describe("Your spending on the server's account; null with your own key"),
  })
  .meta({ id: "Balance" });

export const accountRoutes = {
  getSettings: defineRoute({
    method: "GET",
    path: "/api/v1/settings",
    summary: "Your settings (the Vast.ai key is never returned)",
    tag: "account",
    auth: true,
    successStatus: 200,
    response: Settings,
  }),
  updateSettings: defineRoute({
    method: "PUT",
    path: "/api/v1/settings",
    summary:
      "Update settings; vast_api_key null removes the stored key; gcp_credentials (a service-account JSON) puts your CPU standbys in your own GCP project, null removes it",
    tag: "account",
    auth: true,
    successStatus: 200,
    body: z
      .object({
        vast_api_key: z.string().trim().min(8).max(512).nullable().optional(),
        gcp_credentials: z.string().min(2).max(65_536).nullable().optional(),
        settings: Preferences.optional(),
      })
      .strict(),
    response: Settings,
  }),
  getBalance: defineRoute({
    method: "GET",
    path: "/api/v1/balance",
    summary: "Marketplace credit (the server account's only for the operator) and your spending cap",
    tag: "account",
    auth: true,
    successStatus: 200,
    response: Balance,
  }),
} as const;

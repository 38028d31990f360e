import { z } from "zod";
import { defineRoute } from "./route";

const Preferences = z.record(z.string(), z.unknown()).describe("Free-form per-user preferences");

export const Settings = z
  .object({
    vast_api_key: z.object({
      configured: z.boolean(),
      hint: z.string().nullable().describe("Last 4 characters, to recognise the key; never the key"),
    }),
    settings: Preferences,
  })
  .meta({ id: "Settings" });

export const Balance = z
  .object({
    credit: z.number(),
    balance: z.number(),
    balance_threshold: z.number(),
    email: z.string().nullable(),
    provider: z.string(),
    simulated: z.boolean().describe("true when the market is the embedded local simulator"),
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
    summary: "Update settings; vast_api_key null removes the stored key",
    tag: "account",
    auth: true,
    successStatus: 200,
    body: z
      .object({
        vast_api_key: z.string().trim().min(8).max(512).nullable().optional(),
        settings: Preferences.optional(),
      })
      .strict(),
    response: Settings,
  }),
  getBalance: defineRoute({
    method: "GET",
    path: "/api/v1/balance",
    summary: "Marketplace account credit",
    tag: "account",
    auth: true,
    successStatus: 200,
    response: Balance,
  }),
} as const;

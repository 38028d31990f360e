import { accountRoutes } from "./account-routes";
import { authRoutes } from "./auth-routes";
import { controllerRoutes } from "./controller-routes";
import { instanceRoutes } from "./instance-routes";
import { historyRoutes } from "./history-routes";
import { wizardRoutes } from "./wizard-routes";
import { jobRoutes } from "./job-routes";
import { adminRoutes } from "./admin-routes";
import { standbyRoutes } from "./standby-routes";

/** Every API operation by name. The server must implement each one (checked by the compiler). */
export const API_ROUTES = {
  ...authRoutes,
  ...accountRoutes,
  ...controllerRoutes,
  ...instanceRoutes,
  ...historyRoutes,
  ...wizardRoutes,
  ...jobRoutes,
  ...adminRoutes,
  ...standbyRoutes,
} as const;

export type ApiRoutes = typeof API_ROUTES;
export type RouteName = keyof ApiRoutes;

export * from "./route";
export * from "./common-schemas";
export * from "./auth-routes";
export * from "./account-routes";
export * from "./controller-routes";
export * from "./instance-routes";
export * from "./history-routes";
export * from "./wizard-routes";
export * from "./job-routes";
export * from "./admin-routes";
export * from "./standby-routes";

import { DumontError } from "@dumont/core";
import type { Principal } from "./auth-service";

export function isOperator(principal: Principal): boolean {
  return principal.user.role === "operator";
}

/** Operator-only routes: a user is told what is missing, never shown the data. */
export function requireOperator(principal: Principal): void {
  if (isOperator(principal)) return;
  throw new DumontError({
    code: "FORBIDDEN",
    message: "only the server's operator may do this",
    hint: "Ask the operator of this server; `dumont auth me` shows your role.",
  });
}

import { DumontError } from "@dumont/core";
import type { UserRole } from "@dumont/db";

/** DUMONT_REGISTRATION; undefined = open while the server has no operator, invite once it has one. */
export type RegistrationMode = "open" | "invite" | "closed" | undefined;

/**
 * Who may register, and as what. The first account on a server without an operator becomes its
 * operator (unless the operator chose invite or closed up front, and then creates the operator on
 * the host with `dumont admin create`); everyone after is a user, with an invite unless open.
 */
export function decideRole(mode: RegistrationMode, state: { operatorExists: boolean; hasInvite: boolean }): UserRole {
  if (mode === "closed") {
    throw new DumontError({
      code: "REGISTRATION_CLOSED",
      message: "this server does not accept new accounts (DUMONT_REGISTRATION=closed)",
      hint: "Ask the operator to create your account on the server's host: `dumont admin create <email> --role user`.",
    });
  }
  const effective = mode ?? (state.operatorExists ? "invite" : "open");
  if (effective === "open") return state.operatorExists ? "user" : "operator";
  if (!state.hasInvite) {
    throw new DumontError({
      code: "REGISTRATION_CLOSED",
      message: "this server accepts new accounts only with an invite code",
      hint: state.operatorExists
        ? "Ask the operator for an invite (`dumont admin invite create`), then `dumont auth register <email> --invite <code>`."
        : "No operator exists yet: create one on the server's host with `dumont admin create <email>`.",
    });
  }
  return state.operatorExists ? "user" : "operator";
}

export function inviteRejected(): DumontError {
  return new DumontError({
    code: "REGISTRATION_CLOSED",
    message: "the invite code is unknown, already used, revoked or expired",
    hint: "Ask the operator for a new invite (`dumont admin invite create`).",
  });
}

import type { Generated } from "kysely";

/**
 * Table shapes. Times are integer milliseconds since the epoch in every table: both dialects
 * compare and index them the same way, and the API turns them into ISO strings at the edge.
 */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: number;
}

export interface TokensTable {
  id: string;
  user_id: string;
  kind: "session" | "api_key";
  name: string;
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface UserSettingsTable {
  user_id: string;
  /** AES-256-GCM envelope of the user's Vast.ai key, or null. */
  vast_api_key_sealed: string | null;
  vast_api_key_hint: string | null;
  preferences: string;
  updated_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  resource_type: string;
  resource_id: string;
  owner_id: string;
  from_status: string | null;
  to_status: string;
  reason: string;
  actor: string;
  created_at: number;
}

/**
 * Columns every controller-driven table carries. The runner claims a row by setting a lease
 * (owner + expiry); only the lease holder may transition it.
 */
export interface ControlledColumns {
  id: string;
  owner_id: string;
  status: string;
  lease_owner: string | null;
  lease_expires_at: number | null;
  next_run_at: number;
  created_at: number;
  updated_at: number;
}

export interface CanariesTable extends ControlledColumns {
  steps_total: number;
  steps_done: number;
  step_ms: number;
  fail_at_step: number | null;
  error: string | null;
}

export interface Database {
  users: UsersTable;
  tokens: TokensTable;
  user_settings: UserSettingsTable;
  events: EventsTable;
  canaries: CanariesTable;
}

/** Tables driven by the controller runner. */
export type ControlledTable = "canaries";

import type { Generated } from "kysely";

/**
 * Table shapes. Times are integer milliseconds since the epoch in every table: both dialects
 * compare and index them the same way, and the API turns them into ISO strings at the edge.
 */
export type UserRole = "operator" | "user";

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: number;
  /** operator: runs the server (invites, caps, the server account's balance); user: everyone else. */
  role: Generated<UserRole>;
  /** Cap in USD on spending through the server's marketplace account; null = the default for the role. */
  spend_cap_usd: Generated<number | null>;
}

/** A single-use registration invite; only the SHA-256 of its code is stored. */
export interface InvitesTable {
  id: string;
  code_hash: string;
  prefix: string;
  note: string | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
  revoked_at: number | null;
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
  /** AES-256-GCM envelope of the user's GCP service-account JSON (CPU standbys), or null. */
  gcp_credentials_sealed: string | null;
  /** `client_email (project)`, to recognise it; never the key. */
  gcp_credentials_hint: string | null;
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

export interface InstancesTable extends ControlledColumns {
  /** Which marketplace account drives it: "embedded" (simulator), "server" (VAST_API_KEY) or "user". */
  market: string;
  provider: string;
  machine_id: string | null;
  offer_id: string;
  label: string;
  user_label: string | null;
  gpu_name: string;
  num_gpus: number;
  price_per_hour: number;
  bid_price: number | null;
  image: string;
  disk_gb: number;
  env: string;
  onstart: string | null;
  geolocation: string | null;
  host_machine_id: string | null;
  ssh_host: string | null;
  ssh_port: number | null;
  status_message: string | null;
  error: string | null;
  /** Set just before the marketplace create call: after a crash, "called but not recorded" is visible. */
  create_attempted_at: number | null;
  ready_at: number | null;
  /** GPUs `nvidia-smi -L` listed and /workspace's size in KiB, as the last boot probe saw them over SSH. */
  probed_gpus: number | null;
  probed_disk_kb: number | null;
  /** The wizard deployment this machine is a candidate of, if any. */
  deployment_id: string | null;
  batch: number | null;
}

export interface SshKeysTable {
  id: string;
  owner_id: string;
  /** "control": the key pair the control plane itself uses; "user": a public key the user added. */
  kind: "control" | "user";
  name: string;
  public_key: string;
  fingerprint: string;
  private_key_sealed: string | null;
  created_at: number;
}

export interface OrphansTable {
  id: Generated<number>;
  market: string;
  machine_id: string;
  label: string;
  reason: string;
  destroyed_at: number;
}

/** This installation's id (one row, slot "this"): the middle part of every machine label. */
export interface InstallationTable {
  slot: string;
  id: string;
  created_at: number;
}

/** A labelled machine no live instance owns, since when: the collector's grace, kept across restarts. */
export interface OrphanCandidatesTable {
  market: string;
  machine_id: string;
  label: string;
  first_seen_at: number;
}

/** One try at getting a ready machine from a host (what the history and the blacklist learn from). */
export type AttemptOutcomeKind = "success" | "failure" | "abandoned";

export interface MachineAttemptsTable {
  id: Generated<number>;
  provider: string;
  /** The marketplace's host machine id (not the rented instance). */
  machine_id: string;
  offer_id: string;
  instance_id: string | null;
  user_id: string;
  gpu_name: string;
  num_gpus: number;
  price_per_hour: number;
  geolocation: string | null;
  /** 1 = ready, 0 = not (a failure, or abandoned: see `outcome`). */
  success: number;
  /** "success", "failure", or "abandoned" (destroyed before ready, not the host's fault: ignored by failure rates). */
  /** Optional on insert: derived from `success` when not given (the repository fills it in). */
  outcome: Generated<AttemptOutcomeKind>;
  failure_stage: string | null;
  failure_reason: string | null;
  time_to_ready_s: number | null;
  attempted_at: number;
}

export interface BlacklistTable {
  id: Generated<number>;
  provider: string;
  machine_id: string;
  /** auto (learned from history, applies to everyone) or manual (one user's decision). */
  kind: "auto" | "manual";
  /** The user who added a manual entry; null for automatic ones. */
  owner_id: string | null;
  reason: string;
  gpu_name: string | null;
  created_at: number;
  /** null = permanent. */
  expires_at: number | null;
  removed_at: number | null;
}

/** A user's hide of an automatic entry: it no longer applies to that user's searches, only. */
export interface BlacklistHidesTable {
  blacklist_id: number;
  user_id: string;
  hidden_at: number;
}

export interface DeploymentsTable extends ControlledColumns {
  strategy: string;
  /** The request, as JSON (DeployBody after defaults). */
  config: string;
  market: string;
  /** Ranked offers to try, as JSON, best first. */
  candidates: string;
  /** How many entries of `candidates` have been tried. */
  next_candidate: number;
  batch: number;
  batch_started_at: number | null;
  offers_found: number;
  winner_instance_id: string | null;
  /** Where cleanup ends: completed, failed or cancelled. */
  outcome: string | null;
  error: string | null;
  ready_at: number | null;
}

/** An offer some live candidate holds, so no two deployments (or replicas) rent it at once. */
export interface OfferClaimsTable {
  market: string;
  offer_id: string;
  instance_id: string;
  claimed_at: number;
}

export interface JobsTable extends ControlledColumns {
  name: string;
  source: string;
  /** The create request as JSON, without the Hugging Face token. */
  spec: string;
  hf_token_sealed: string | null;
  market: string;
  attempt: number;
  /** JSON list of {attempt, instance_id, reason}: one entry per machine the job used. */
  attempts: string;
  deployment_id: string | null;
  instance_id: string | null;
  exit_code: number | null;
  outcome: string | null;
  error: string | null;
  start_at: number | null;
  started_at: number | null;
  run_started_at: number | null;
  completed_at: number | null;
  /** Bytes of the machine's job.log already copied into the log store (this attempt). */
  log_offset: number;
  price_per_hour: number | null;
  /** GPU time of earlier attempts, seconds (the current one is counted from run_started_at). */
  gpu_seconds: number;
  last_checkpoint_at: number | null;
  /** When the current attempt began looking for a machine (its provisioning deadline counts from here). */
  provision_started_at: number | null;
}

/** A user's CPU standby settings (`dumont standby configure`). One row per user; absent = defaults. */
export interface StandbyConfigsTable {
  user_id: string;
  zone: string;
  machine_type: string;
  disk_gb: number;
  spot: number;
  sync_interval_s: number;
  /** Every new GPU instance of this user gets a standby. */
  auto_standby: number;
  auto_failover: number;
  auto_recovery: number;
  /** JSON list of rsync exclude patterns. */
  excludes: string;
  updated_at: number;
}

/** One CPU standby beside one GPU instance, driven by the standby controller. */
export interface StandbyAssociationsTable extends ControlledColumns {
  /** The instance the user asked to protect: its id keeps answering `…/endpoint` across recoveries. */
  instance_id: string;
  /** The GPU instance now paired with the standby (the original, or the one a recovery rented). */
  gpu_instance_id: string;
  /** Which standby account: `embedded` (simulated GCP project), `server` (GCP_CREDENTIALS) or `user`. */
  standby_market: string;
  provider: string;
  zone: string;
  machine_type: string;
  disk_gb: number;
  spot: number;
  /** The CPU machine's name at the provider (chosen by us, so a crashed create is found by it). */
  vm_name: string;
  vm_ssh_host: string | null;
  vm_ssh_port: number | null;
  /** The standby's SSH host key (OpenSSH known_hosts form), pinned at first contact. */
  vm_host_key: string | null;
  create_attempted_at: number | null;
  vm_ready_at: number | null;
  price_per_hour: number;
  active_role: string;
  sync_interval_s: number;
  excludes: string;
  /** The association's own key: GPU machines use it to push to (and pull from) the standby. */
  sync_key_private_sealed: string;
  sync_key_public: string;
  /** The GPU instance whose machine holds the sync key already. */
  sync_key_installed_on: string | null;
  auto_failover: number;
  auto_recovery: number;
  /** A user's request the controller carries out: failover | recover | failback | enable | disable | destroy. */
  requested_action: string | null;
  keep_on_delete: number;
  sync_count: number;
  last_sync_at: number | null;
  last_sync_bytes: number | null;
  last_sync_files: number | null;
  last_sync_duration_ms: number | null;
  last_sync_error: string | null;
  /** Files on the standby after the last good sync (an empty GPU must not wipe a good copy). */
  standby_files: number | null;
  health_failures: number;
  last_health_at: number | null;
  last_health_error: string | null;
  gpu_lost_at: number | null;
  /** The failover (or recovery) in progress, a row of standby_failovers. */
  failover_id: string | null;
  /** The wizard race a recovery started (recorded before it starts). */
  recovery_deployment_id: string | null;
  recovery_attempts: number;
  active_since: number;
  error: string | null;
}

/** Each sync, so the RPO is visible (bounded per association). */
export interface StandbySyncsTable {
  id: Generated<number>;
  association_id: string;
  owner_id: string;
  direction: string;
  started_at: number;
  duration_ms: number;
  bytes: number;
  files: number;
  ok: number;
  error: string | null;
}

/** A failover, planned migration, recovery or failback, with its measured phases. */
export interface StandbyFailoversTable {
  id: string;
  association_id: string;
  owner_id: string;
  /** automatic | planned | recovery | failback */
  kind: string;
  reason: string;
  started_at: number;
  /** JSON object: phase name → milliseconds (detect, final_sync, switch, provision, restore, verify). */
  phases: string;
  completed_at: number | null;
  success: number | null;
  error: string | null;
  from_instance_id: string | null;
  to_instance_id: string | null;
  /** Age of the newest write the standby did not get (ms, when known): the RPO of this failover. */
  data_age_ms: number | null;
}

export interface Database {
  users: UsersTable;
  tokens: TokensTable;
  invites: InvitesTable;
  user_settings: UserSettingsTable;
  events: EventsTable;
  canaries: CanariesTable;
  instances: InstancesTable;
  ssh_keys: SshKeysTable;
  orphans: OrphansTable;
  installation: InstallationTable;
  orphan_candidates: OrphanCandidatesTable;
  machine_attempts: MachineAttemptsTable;
  blacklist: BlacklistTable;
  blacklist_hides: BlacklistHidesTable;
  deployments: DeploymentsTable;
  offer_claims: OfferClaimsTable;
  jobs: JobsTable;
  standby_configs: StandbyConfigsTable;
  standby_associations: StandbyAssociationsTable;
  standby_syncs: StandbySyncsTable;
  standby_failovers: StandbyFailoversTable;
}

/** Tables driven by the controller runner. */
export type ControlledTable = "canaries" | "instances" | "deployments" | "jobs" | "standby_associations";

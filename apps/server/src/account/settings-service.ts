import { DumontError } from "@dumont/core";
import { parseGcpServiceAccount } from "@dumont/providers";
import type { SettingsRepository, SettingsRow } from "@dumont/db";
import type { SecretBox } from "../security/secret-box";

export interface SettingsView {
  vastKeyConfigured: boolean;
  vastKeyHint: string | null;
  gcpCredentialsConfigured: boolean;
  gcpCredentialsHint: string | null;
  preferences: Record<string, unknown>;
}

/** Per-user settings; the marketplace key is sealed at rest and only its last 4 characters leave. */
export class SettingsService {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly box: SecretBox,
    private readonly now: () => number,
  ) {}

  async get(userId: string): Promise<SettingsView> {
    return toView(await this.repo.find(userId));
  }

  async update(
    userId: string,
    change: {
      vastApiKey?: string | null | undefined;
      gcpCredentials?: string | null | undefined;
      preferences?: Record<string, unknown> | undefined;
    },
  ): Promise<SettingsView> {
    const current = await this.repo.find(userId);
    const row: SettingsRow = {
      user_id: userId,
      vast_api_key_sealed: current?.vast_api_key_sealed ?? null,
      vast_api_key_hint: current?.vast_api_key_hint ?? null,
      gcp_credentials_sealed: current?.gcp_credentials_sealed ?? null,
      gcp_credentials_hint: current?.gcp_credentials_hint ?? null,
      preferences: current?.preferences ?? "{}",
      updated_at: this.now(),
    };
    if (change.vastApiKey === null) {
      row.vast_api_key_sealed = null;
      row.vast_api_key_hint = null;
    } else if (change.vastApiKey !== undefined) {
      row.vast_api_key_sealed = this.box.seal(change.vastApiKey);
      row.vast_api_key_hint = change.vastApiKey.slice(-4);
    }
    if (change.gcpCredentials === null) {
      row.gcp_credentials_sealed = null;
      row.gcp_credentials_hint = null;
    } else if (change.gcpCredentials !== undefined) {
      // Parsed before it is kept: a broken or partial service account is refused now, not at the
      // first standby. The error names the field, never the key.
      const account = parseGcpServiceAccount(change.gcpCredentials);
      row.gcp_credentials_sealed = this.box.seal(change.gcpCredentials);
      row.gcp_credentials_hint = `${account.client_email} (${account.project_id})`;
    }
    if (change.preferences !== undefined) {
      assertShallow(change.preferences);
      row.preferences = JSON.stringify(change.preferences);
    }
    await this.repo.save(row);
    return toView(row);
  }

  /** The user's own GCP service-account JSON in clear, for the standby provider only. */
  async gcpCredentials(userId: string): Promise<string | undefined> {
    const row = await this.repo.find(userId);
    return row?.gcp_credentials_sealed ? this.box.open(row.gcp_credentials_sealed) : undefined;
  }

  /** The user's own Vast.ai key in clear, for provider calls only. */
  async vastApiKey(userId: string): Promise<string | undefined> {
    const row = await this.repo.find(userId);
    return row?.vast_api_key_sealed ? this.box.open(row.vast_api_key_sealed) : undefined;
  }
}

/** Preferences nested deeper than this are refused: JSON.stringify would overflow the stack. */
export const MAX_PREFERENCES_DEPTH = 32;

function assertShallow(preferences: Record<string, unknown>): void {
  // Iterative on purpose: a recursive walk would hit the very stack limit it guards against.
  const pending: Array<{ value: unknown; depth: number }> = [{ value: preferences, depth: 1 }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    if (item.value === null || typeof item.value !== "object") continue;
    if (item.depth > MAX_PREFERENCES_DEPTH) {
      throw new DumontError({
        code: "VALIDATION_FAILED",
        message: `body.settings: nested deeper than ${MAX_PREFERENCES_DEPTH} levels`,
        details: { issues: [{ path: "body.settings", message: `nested deeper than ${MAX_PREFERENCES_DEPTH} levels` }] },
      });
    }
    for (const child of Object.values(item.value)) pending.push({ value: child, depth: item.depth + 1 });
  }
}

function toView(row: SettingsRow | undefined): SettingsView {
  return {
    vastKeyConfigured: Boolean(row?.vast_api_key_sealed),
    vastKeyHint: row?.vast_api_key_hint ? `…${row.vast_api_key_hint}` : null,
    gcpCredentialsConfigured: Boolean(row?.gcp_credentials_sealed),
    gcpCredentialsHint: row?.gcp_credentials_hint ?? null,
    preferences: row ? (JSON.parse(row.preferences) as Record<string, unknown>) : {},
  };
}

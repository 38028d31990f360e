import type { SettingsRepository, SettingsRow } from "@dumont/db";
import type { SecretBox } from "../security/secret-box";

export interface SettingsView {
  vastKeyConfigured: boolean;
  vastKeyHint: string | null;
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
    change: { vastApiKey?: string | null | undefined; preferences?: Record<string, unknown> | undefined },
  ): Promise<SettingsView> {
    const current = await this.repo.find(userId);
    const row: SettingsRow = {
      user_id: userId,
      vast_api_key_sealed: current?.vast_api_key_sealed ?? null,
      vast_api_key_hint: current?.vast_api_key_hint ?? null,
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
    if (change.preferences !== undefined) row.preferences = JSON.stringify(change.preferences);
    await this.repo.save(row);
    return toView(row);
  }

  /** The user's own Vast.ai key in clear, for provider calls only. */
  async vastApiKey(userId: string): Promise<string | undefined> {
    const row = await this.repo.find(userId);
    return row?.vast_api_key_sealed ? this.box.open(row.vast_api_key_sealed) : undefined;
  }
}

function toView(row: SettingsRow | undefined): SettingsView {
  return {
    vastKeyConfigured: Boolean(row?.vast_api_key_sealed),
    vastKeyHint: row?.vast_api_key_hint ? `…${row.vast_api_key_hint}` : null,
    preferences: row ? (JSON.parse(row.preferences) as Record<string, unknown>) : {},
  };
}

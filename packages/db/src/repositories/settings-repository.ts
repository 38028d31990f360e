import type { Kysely, Selectable } from "kysely";
import type { Database, UserSettingsTable } from "../schema";

export type SettingsRow = Selectable<UserSettingsTable>;

export class SettingsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  find(userId: string): Promise<SettingsRow | undefined> {
    return this.db.selectFrom("user_settings").selectAll().where("user_id", "=", userId).executeTakeFirst();
  }

  async save(row: SettingsRow): Promise<void> {
    await this.db
      .insertInto("user_settings")
      .values(row)
      .onConflict((oc) =>
        oc.column("user_id").doUpdateSet({
          vast_api_key_sealed: row.vast_api_key_sealed,
          vast_api_key_hint: row.vast_api_key_hint,
          gcp_credentials_sealed: row.gcp_credentials_sealed,
          gcp_credentials_hint: row.gcp_credentials_hint,
          preferences: row.preferences,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }
}

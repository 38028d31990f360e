import type { Kysely } from "kysely";

/**
 * A user's own GCP service account for CPU standbys, sealed like the Vast.ai key (AES-256-GCM),
 * and its client email and project to recognise it by. Null: standbys go to the server's project.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("user_settings").addColumn("gcp_credentials_sealed", "text").execute();
  await db.schema.alterTable("user_settings").addColumn("gcp_credentials_hint", "text").execute();
}

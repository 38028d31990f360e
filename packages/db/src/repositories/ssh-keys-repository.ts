import type { Kysely, Selectable } from "kysely";
import type { Database, SshKeysTable } from "../schema";

export type SshKeyRow = Selectable<SshKeysTable>;

export class SshKeysRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: SshKeyRow): Promise<void> {
    await this.db.insertInto("ssh_keys").values(row).execute();
  }

  list(ownerId: string, kind: SshKeyRow["kind"]): Promise<SshKeyRow[]> {
    return this.db
      .selectFrom("ssh_keys")
      .selectAll()
      .where("owner_id", "=", ownerId)
      .where("kind", "=", kind)
      .orderBy("created_at")
      .execute();
  }

  async remove(ownerId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("ssh_keys")
      .where("id", "=", id)
      .where("owner_id", "=", ownerId)
      .where("kind", "=", "user")
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

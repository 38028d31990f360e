import type { Kysely, Selectable } from "kysely";
import { DumontError } from "@dumont/core";
import type { Database, UsersTable } from "../schema";
import type { SqlDialect } from "../dialect/sql-dialect";

export type UserRow = Selectable<UsersTable>;

export class UsersRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async create(user: UserRow): Promise<UserRow> {
    try {
      await this.db.insertInto("users").values(user).execute();
      return user;
    } catch (error) {
      if (this.dialect.isUniqueViolation(error)) {
        throw new DumontError({
          code: "EMAIL_TAKEN",
          message: `an account with email ${user.email} already exists`,
          hint: "Log in instead, or register with another email.",
          cause: error,
        });
      }
      throw error;
    }
  }

  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
  }

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  }
}

import { sql, type Kysely, type Selectable } from "kysely";
import { DumontError } from "@dumont/core";
import type { Database, UserRole, UsersTable } from "../schema";
import type { SqlDialect } from "../dialect/sql-dialect";
import { consumeInvite } from "./invites-repository";

export type UserRow = Selectable<UsersTable>;

export interface NewRegistration {
  user: Omit<UserRow, "role">;
  /** Picks the role from whether an operator exists yet, or throws to refuse the registration. */
  decideRole(operatorExists: boolean): UserRole;
  /** SHA-256 of an invite code to consume in the same transaction. */
  inviteHash?: string | undefined;
  now: number;
}

export class UsersRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Inserts a user as is (the role defaults to user); registration goes through `register`. */
  async create(input: Omit<UserRow, "role" | "spend_cap_usd"> & Partial<UserRow>): Promise<UserRow> {
    const user: UserRow = { role: "user", spend_cap_usd: null, ...input };
    try {
      await this.db.insertInto("users").values(user).execute();
      return user;
    } catch (error) {
      throw this.emailTaken(error, user.email);
    }
  }

  /**
   * Registers a user in one transaction: registrations are serialised (so two first registrants
   * cannot both become the operator), the role is decided from what the database holds now, and
   * the invite, when given, is used up only if the account is created. `invite_rejected` when the
   * invite is unknown, used, revoked or expired (nothing is written).
   */
  async register(registration: NewRegistration): Promise<UserRow | "invite_rejected"> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        // SQLite runs one transaction at a time on its one connection; PostgreSQL replicas need
        // a lock that registrations take against each other (reads of users are not blocked).
        if (this.dialect.supportsMultipleProcesses) {
          await sql`lock table users in share row exclusive mode`.execute(trx);
        }
        const operator = await trx.selectFrom("users").select("id").where("role", "=", "operator").executeTakeFirst();
        const user: UserRow = { ...registration.user, role: registration.decideRole(operator !== undefined) };
        if (registration.inviteHash !== undefined) {
          const used = await consumeInvite(trx, {
            codeHash: registration.inviteHash,
            userId: user.id,
            now: registration.now,
          });
          if (!used) return "invite_rejected" as const;
        }
        await trx.insertInto("users").values(user).execute();
        return user;
      });
    } catch (error) {
      throw this.emailTaken(error, registration.user.email);
    }
  }

  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
  }

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async operatorExists(): Promise<boolean> {
    const row = await this.db.selectFrom("users").select("id").where("role", "=", "operator").executeTakeFirst();
    return row !== undefined;
  }

  list(limit = 1000): Promise<UserRow[]> {
    return this.db.selectFrom("users").selectAll().orderBy("created_at").orderBy("id").limit(limit).execute();
  }

  async setRole(id: string, role: UserRole): Promise<void> {
    await this.db.updateTable("users").set({ role }).where("id", "=", id).execute();
  }

  /** false when no such user. */
  async setSpendCap(id: string, capUsd: number | null): Promise<boolean> {
    const result = await this.db
      .updateTable("users")
      .set({ spend_cap_usd: capUsd })
      .where("id", "=", id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  private emailTaken(error: unknown, email: string): unknown {
    if (!this.dialect.isUniqueViolation(error)) return error;
    return new DumontError({
      code: "EMAIL_TAKEN",
      message: `an account with email ${email} already exists`,
      hint: "Log in instead, or register with another email.",
      cause: error,
    });
  }
}

import { API_ROUTES, DumontError } from "@dumont/core";
import { UsersRepository, dialectFor, openDatabase, type UserRole } from "@dumont/db";
import { loadConfig } from "../config";
import { hashPassword } from "../security/password-hasher";
import { newId } from "../security/tokens";

export interface HostAccountResult {
  id: string;
  email: string;
  role: UserRole;
  /** false when the account existed and only its role was set. */
  created: boolean;
  database: string;
}

/**
 * `dumont admin create`: writes an account straight into this host's database (the same
 * DUMONT_HOME / DATABASE_URL as `dumont server`), without HTTP. Whoever can run it can already
 * read the database, so it needs no token: it is how the operator is created on a server whose
 * registration is closed or invite-only, and how an existing account is made operator.
 */
export async function createAccountOnHost(input: {
  email: string;
  /** Asked only when the account does not exist yet (an existing one keeps its password). */
  password: () => Promise<string>;
  role: UserRole;
}): Promise<HostAccountResult> {
  const config = loadConfig();
  const dialect = dialectFor({
    url: config.databaseUrl,
    sqliteFile: config.sqliteFile,
    postgresSchema: config.pgSchema,
  });
  const database = await openDatabase(dialect);
  try {
    const users = new UsersRepository(database.db, dialect);
    const email = API_ROUTES.register.body.shape.email.parse(input.email);
    const existing = await users.findByEmail(email);
    if (existing) {
      await users.setRole(existing.id, input.role);
      return { id: existing.id, email, role: input.role, created: false, database: dialect.description };
    }
    const parsed = API_ROUTES.register.body.safeParse({ email, password: await input.password() });
    if (!parsed.success) {
      throw new DumontError({
        code: "VALIDATION_FAILED",
        message: `a new account needs a password of at least 8 characters`,
        details: { issues: parsed.error.issues.map((i) => i.message) },
      });
    }
    const user = await users.create({
      id: newId("usr"),
      email,
      password_hash: await hashPassword(parsed.data.password),
      created_at: Date.now(),
      role: input.role,
    });
    return { id: user.id, email, role: user.role, created: true, database: dialect.description };
  } finally {
    await database.close();
  }
}

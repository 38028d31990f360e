import { DumontError } from "@dumont/core";
import type { InviteRow, InvitesRepository } from "@dumont/db";
import { generateInviteCode, hashInviteCode, invitePrefix } from "../security/invite-codes";
import { newId } from "../security/tokens";

/** The operator's single-use invite codes: shown once at creation, stored only as a hash. */
export class InviteService {
  constructor(
    private readonly deps: {
      invites: InvitesRepository;
      now: () => number;
    },
  ) {}

  async create(operatorId: string, input: { expiresInHours: number; note?: string | undefined }) {
    const now = this.deps.now();
    const code = generateInviteCode();
    const row: InviteRow = {
      id: newId("inv"),
      code_hash: hashInviteCode(code),
      prefix: invitePrefix(code),
      note: input.note ?? null,
      created_by: operatorId,
      created_at: now,
      expires_at: now + input.expiresInHours * 3_600_000,
      used_at: null,
      used_by: null,
      revoked_at: null,
    };
    await this.deps.invites.insert(row);
    return { row, code };
  }

  list(): Promise<InviteRow[]> {
    return this.deps.invites.list();
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.deps.invites.revoke(id, this.deps.now()))) {
      throw new DumontError({
        code: "NOT_FOUND",
        message: `invite ${id} not found, or already used or revoked`,
        details: { kind: "invite", id },
      });
    }
  }

  stateOf(row: InviteRow): "active" | "used" | "revoked" | "expired" {
    if (row.used_at !== null) return "used";
    if (row.revoked_at !== null) return "revoked";
    return row.expires_at <= this.deps.now() ? "expired" : "active";
  }
}

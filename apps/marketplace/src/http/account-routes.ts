import type { FastifyInstance } from "fastify";
import type { MarketContext } from "../market-context";
import { round } from "../random";
import { parsePublicKey } from "../ssh/authorized-keys";
import { authenticateAccount } from "./auth";
import { SshKeyBody } from "./schemas";
import { parseBody, pathId, VastError } from "./vast-error";

/** `/users/current/` and the account's SSH keys (vast-api.md §3.1 #23, #26, §3.11). */
export function registerAccountRoutes(app: FastifyInstance, ctx: MarketContext): void {
  app.get("/api/v0/users/current/", (request) => {
    const account = authenticateAccount(ctx, request);
    ctx.manager.billing.accrue(account);
    return {
      id: account.id,
      username: account.username,
      email: account.email,
      fullname: null,
      ssh_key: account.sshKeys[0]?.publicKey ?? null,
      // `credit` is what can be spent (vast-api.md §7 #4): prepaid dollars, decreasing as instances bill.
      credit: round(account.credit, 6),
      balance: 0,
      balance_threshold: account.balanceThreshold,
      balance_threshold_enabled: false,
      can_pay: true,
      has_billing: false,
      has_payout: false,
      billing_creditonly: true,
      email_verified: true,
      got_signup_credit: true,
      last4: null,
      paypal_email: null,
      // Vast sends the caller's key back (the official CLI removes it before printing the user).
      api_key: account.apiKey,
      key_id: account.id * 10,
      sid: null,
      simulated: true,
    };
  });

  app.post("/api/v0/ssh/", (request) => {
    const account = authenticateAccount(ctx, request);
    const { ssh_key } = parseBody(SshKeyBody, request.body);
    if (!parsePublicKey(ssh_key)) throw new VastError(400, "invalid_args", "Invalid SSH public key.");
    const key = ctx.accounts.addSshKey(account, ssh_key, ctx.clock.nowSeconds());
    return {
      success: true,
      key: {
        id: key.id,
        user_id: account.id,
        public_key: key.publicKey,
        created_at: isoDate(key.createdAtS),
        deleted_at: null,
      },
    };
  });

  app.get("/api/v0/ssh/", (request, reply) => {
    const account = authenticateAccount(ctx, request);
    if (account.sshKeys.length === 0) {
      return reply.status(404).send({ success: false, error: "not_found", msg: "No SSH keys found for the user." });
    }
    // A bare array, as Vast answers this one.
    return account.sshKeys.map((k) => ({
      id: k.id,
      user_id: account.id,
      key: k.publicKey,
      created_at: isoDate(k.createdAtS),
      deleted_at: null,
    }));
  });

  app.put<{ Params: { id: string } }>("/api/v0/ssh/:id/", (request) => {
    const account = authenticateAccount(ctx, request);
    const id = pathId(request.params.id, "ssh key");
    const { ssh_key } = parseBody(SshKeyBody, request.body);
    if (!parsePublicKey(ssh_key)) throw new VastError(400, "invalid_args", "Invalid SSH public key.");
    const key = account.sshKeys.find((k) => k.id === id);
    if (!key) throw new VastError(400, "no_ssh_key", `No SSH key with id ${id}.`);
    key.publicKey = ssh_key;
    return { success: true, key: { id: key.id, user_id: account.id, public_key: key.publicKey } };
  });

  app.delete<{ Params: { id: string } }>("/api/v0/ssh/:id/", (request) => {
    const account = authenticateAccount(ctx, request);
    const id = pathId(request.params.id, "ssh key");
    const index = account.sshKeys.findIndex((k) => k.id === id);
    if (index < 0) throw new VastError(400, "no_ssh_key", `No SSH key with id ${id}.`);
    account.sshKeys.splice(index, 1);
    return { success: true };
  });
}

function isoDate(epochS: number): string {
  return new Date(epochS * 1000).toISOString();
}

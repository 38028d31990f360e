import { randomBytes } from "node:crypto";
import { AccountLedger } from "./account-ledger";

export interface AccountSshKey {
  id: number;
  publicKey: string;
  createdAtS: number;
}

/** A renter account like Vast's: an API key, prepaid credit, SSH keys (vast-api.md §3.11). */
export interface Account {
  id: number;
  email: string;
  username: string;
  apiKey: string;
  /** Spendable dollars; renting spends it per simulated second. */
  credit: number;
  balanceThreshold: number;
  sshKeys: AccountSshKey[];
  /** Simulated ms up to which this account's charges are booked. */
  billedUntilMs: number;
  /** Set once credit ran out, so the stop happens once per exhaustion. */
  exhausted: boolean;
  /** Charges and credits so far (the charges and invoices endpoints). */
  ledger: AccountLedger;
  /** Account-level environment variables (`/secrets/`), put into instances created afterwards. */
  envVars: Map<string, string>;
}

/** A fresh key in Vast's format: 64 lowercase hex characters. */
export function generateApiKey(): string {
  return randomBytes(32).toString("hex");
}

export class Accounts {
  private readonly byKey = new Map<string, Account>();
  private readonly byId = new Map<number, Account>();
  private nextId = 410_001;
  private nextKeyId = 7_001;

  create(options: { apiKey?: string; credit: number; email?: string; nowMs: number }): Account {
    const apiKey = options.apiKey ?? generateApiKey();
    if (this.byKey.has(apiKey)) throw new Error("an account with this API key already exists");
    const id = this.nextId++;
    const account: Account = {
      id,
      email: options.email ?? `renter${id}@market.local`,
      username: `renter${id}`,
      apiKey,
      credit: options.credit,
      balanceThreshold: 0,
      sshKeys: [],
      billedUntilMs: options.nowMs,
      exhausted: false,
      ledger: new AccountLedger(),
      envVars: new Map(),
    };
    account.ledger.addCredit(options.nowMs / 1000, options.credit, "Simulated starting credit");
    this.byKey.set(apiKey, account);
    this.byId.set(id, account);
    return account;
  }

  byApiKey(key: string): Account | undefined {
    return this.byKey.get(key);
  }

  get(id: number): Account | undefined {
    return this.byId.get(id);
  }

  all(): Account[] {
    return [...this.byId.values()];
  }

  /** Ids for SSH keys, shared by account keys and keys attached to one instance. */
  allocateKeyId(): number {
    return this.nextKeyId++;
  }

  addSshKey(account: Account, publicKey: string, nowS: number): AccountSshKey {
    const key: AccountSshKey = { id: this.allocateKeyId(), publicKey, createdAtS: nowS };
    account.sshKeys.push(key);
    return key;
  }
}

import { randomBytes } from "node:crypto";

/** Results one account may hold (pending or ready); its oldest go first, never another account's. */
const MAX_PER_ACCOUNT = 16;
/** Results one account may have still running: more is a 429, so no account can pile up work. */
const MAX_PENDING_PER_ACCOUNT = 4;
/** All results together; the market's memory is shared by every account. */
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** One result's text is cut here (a log's tail, an execute's output). */
const MAX_RESULT_BYTES = 4 * 1024 * 1024;

interface StoredResult {
  owner: string;
  ready: boolean;
  text: string;
}

/** Why a new result cannot be opened: the account already has as many running as it may. */
export class TooManyPendingResults extends Error {
  override readonly name = "TooManyPendingResults";
}

/**
 * The stand-in for the object storage behind Vast's `result_url` (vast-api.md §3.8): execute and
 * logs answer a URL at once, the text lands there when the machine has produced it, and until
 * then the URL answers 404, as a pre-signed S3 URL does before the host's upload. The URL is fetched
 * without an API key (the official CLI uses a plain GET), so its token is the only secret: 128
 * random bits, unguessable, one per result. Bounded per account and in total, so one account can
 * neither evict another's results nor exhaust the market's memory.
 */
export class ResultStore {
  private readonly results = new Map<string, StoredResult>();
  private totalBytes = 0;

  /** A new pending result for `owner` (an account id); returns its token. */
  open(owner: string): string {
    const mine = [...this.results].filter(([, r]) => r.owner === owner);
    if (mine.filter(([, r]) => !r.ready).length >= MAX_PENDING_PER_ACCOUNT) {
      throw new TooManyPendingResults(`${MAX_PENDING_PER_ACCOUNT} results are still being produced for this account`);
    }
    for (const [token] of mine.slice(0, Math.max(0, mine.length - MAX_PER_ACCOUNT + 1))) this.forget(token);
    const token = randomBytes(16).toString("hex");
    this.results.set(token, { owner, ready: false, text: "" });
    return token;
  }

  complete(token: string, text: string): void {
    const result = this.results.get(token);
    if (!result) return;
    result.ready = true;
    result.text = text.length > MAX_RESULT_BYTES ? text.slice(-MAX_RESULT_BYTES) : text;
    this.totalBytes += result.text.length;
    // Over the total, the oldest ready results go first (whoever they belong to: each is bounded).
    for (const [oldest, r] of this.results) {
      if (this.totalBytes <= MAX_TOTAL_BYTES) break;
      if (r.ready && oldest !== token) this.forget(oldest);
    }
  }

  /** The text once ready; undefined while pending or for an unknown token. */
  read(token: string): string | undefined {
    const result = this.results.get(token);
    return result?.ready ? result.text : undefined;
  }

  private forget(token: string): void {
    const result = this.results.get(token);
    if (!result) return;
    this.totalBytes -= result.text.length;
    this.results.delete(token);
  }
}

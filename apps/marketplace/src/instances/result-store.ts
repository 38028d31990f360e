import { randomBytes } from "node:crypto";

/** How many results are kept; older ones are forgotten first (their URLs then answer 404). */
const MAX_RESULTS = 500;

interface StoredResult {
  ready: boolean;
  text: string;
}

/**
 * The stand-in for the object storage behind Vast's `result_url` (vast-api.md §3.8): execute and
 * logs answer a URL at once, the text lands there when the machine has produced it, and until
 * then the URL answers 404, as a pre-signed S3 URL does before the host's upload. The URL is fetched
 * without an API key (the official CLI uses a plain GET), so its token is the only secret: 128
 * random bits, unguessable, one per result.
 */
export class ResultStore {
  private readonly results = new Map<string, StoredResult>();

  /** A new pending result; returns its token. */
  open(): string {
    const token = randomBytes(16).toString("hex");
    this.results.set(token, { ready: false, text: "" });
    while (this.results.size > MAX_RESULTS) {
      const oldest = this.results.keys().next().value;
      if (oldest === undefined) break;
      this.results.delete(oldest);
    }
    return token;
  }

  complete(token: string, text: string): void {
    const result = this.results.get(token);
    if (result) {
      result.ready = true;
      result.text = text;
    }
  }

  /** The text once ready; undefined while pending or for an unknown token. */
  read(token: string): string | undefined {
    const result = this.results.get(token);
    return result?.ready ? result.text : undefined;
  }
}

import { setTimeout as sleep } from "node:timers/promises";

/**
 * Wakes a wait loop when the server records a transition of one resource, by following
 * `GET /api/v1/events/stream?resource=<id>` (server-sent events), so a wait ends as soon as its
 * resource does instead of on the next poll. If the stream cannot be opened or drops, the loop
 * just falls back to its timer: the stream only ever makes a wait faster, never wrong.
 */
export class EventWaker {
  private readonly abort = new AbortController();
  private pending: (() => void) | undefined;
  private woken = false;

  constructor(apiUrl: string, token: string | undefined, resourceId: string) {
    void this.follow(apiUrl, token, resourceId);
  }

  /** Resolves at the next transition, or after `ms` at the latest. */
  async wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    const woken = new Promise<void>((resolve) => (this.pending = resolve));
    await Promise.race([woken, sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined)]);
    this.pending = undefined;
    this.woken = false;
  }

  close(): void {
    this.abort.abort();
  }

  private wake(): void {
    if (this.pending) this.pending();
    else this.woken = true;
  }

  private async follow(apiUrl: string, token: string | undefined, resourceId: string): Promise<void> {
    try {
      const url = new URL("/api/v1/events/stream", apiUrl);
      url.searchParams.set("resource", resourceId);
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await fetch(url, { headers, signal: this.abort.signal });
      if (!response.ok || !response.body) return;
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end;
        while ((end = buffered.indexOf("\n\n")) !== -1) {
          const message = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (/^event: transition$/m.test(message)) this.wake();
        }
      }
    } catch {
      // Aborted on close, or the stream failed: the timer carries on alone.
    }
  }
}

import type { ReadableStreamReadResult } from "node:stream/web";
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { bearer, registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";

interface TransitionEvent {
  id: number;
  resource_type: string;
  resource_id: string;
  from_status: string | null;
  to_status: string;
  reason: string;
}

interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string | undefined;
  comment: string | undefined;
}

/** An open SSE connection: frames read so far, and a way to wait for more. */
interface SseConnection {
  status: number;
  contentType: string | null;
  frames: SseFrame[];
  transitions(): TransitionEvent[];
  /** Reads until `done(frames)` holds or the timeout passes (then throws with what was seen). */
  readUntil(done: (frames: SseFrame[]) => boolean, timeoutMs: number): Promise<void>;
  /** Reads whatever arrives during `ms`. */
  readFor(ms: number): Promise<void>;
  close(): void;
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = { id: undefined, event: undefined, data: undefined, comment: undefined };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) frame.comment = line.slice(1).trim();
    else if (line.startsWith("id: ")) frame.id = line.slice(4);
    else if (line.startsWith("event: ")) frame.event = line.slice(7);
    else if (line.startsWith("data: "))
      frame.data = (frame.data === undefined ? "" : `${frame.data}\n`) + line.slice(6);
  }
  return frame;
}

async function openStream(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  let ended = false;

  async function readOnce(deadline: number): Promise<boolean> {
    if (!reader || ended) return false;
    pending ??= reader.read();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    const result = await Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
    if (result === "timeout") return false;
    pending = undefined;
    if (result.done) {
      ended = true;
      return false;
    }
    buffer += decoder.decode(result.value, { stream: true });
    let boundary = buffer.indexOf("\n\n");
    while (boundary !== -1) {
      frames.push(parseFrame(buffer.slice(0, boundary)));
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf("\n\n");
    }
    return true;
  }

  const transitions = () =>
    frames
      .filter((f) => f.event === "transition" && f.data !== undefined)
      .map((f) => JSON.parse(f.data ?? "") as TransitionEvent);

  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    frames,
    transitions,
    async readUntil(done, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!done(frames)) {
        if (Date.now() >= deadline || (ended && !done(frames))) {
          throw new Error(`stream condition not met in ${timeoutMs} ms; frames: ${JSON.stringify(frames)}`);
        }
        await readOnce(deadline);
      }
    },
    async readFor(ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && (await readOnce(deadline))) {
        // keep reading until the deadline
      }
    },
    close() {
      controller.abort();
      pending?.catch(() => undefined);
      reader?.cancel().catch(() => undefined);
    },
  };
}

describe("GET /api/v1/events/stream (server-sent events over a real socket)", () => {
  let inproc: InProcessServer;
  let baseUrl: string;
  let alice: Account;
  let bob: Account;
  const open: SseConnection[] = [];

  const stream = async (query: string, account: Account, extra: Record<string, string> = {}) => {
    const connection = await openStream(`${baseUrl}/api/v1/events/stream${query}`, {
      ...bearer(account.token),
      ...extra,
    });
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    inproc = await startInProcessServer();
    baseUrl = await inproc.app.listen({ port: 0, host: "127.0.0.1" });
    alice = await registerAccount(inproc.app, "ssealice");
    bob = await registerAccount(inproc.app, "ssebob");
  });
  afterAll(async () => {
    for (const connection of open) connection.close();
    await inproc?.close();
  });

  it("without a token it answers 401 JSON, not a stream", async () => {
    const response = await fetch(`${baseUrl}/api/v1/events/stream`);
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe("UNAUTHENTICATED");
  });

  it("with an invalid query it answers 400 VALIDATION_FAILED, not a stream", async () => {
    const response = await fetch(`${baseUrl}/api/v1/events/stream?after=-3`, { headers: bearer(alice.token) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
  });

  it("streams a canary's transitions up to completed; other users' streams stay silent; resuming skips seen events", async () => {
    // Bob listens to everything of his own before Alice's canary exists.
    const bobAll = await stream("", bob);
    expect(bobAll.status).toBe(200);

    const created = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/canaries",
      headers: bearer(alice.token),
      payload: { steps: 2, step_ms: 10 },
    });
    expect(created.statusCode).toBe(201);
    const canaryId = created.json<{ id: string }>().id;
    const bobFiltered = await stream(`?resource=${canaryId}`, bob);

    const aliceStream = await stream(`?resource=${canaryId}`, alice);
    expect(aliceStream.status).toBe(200);
    expect(aliceStream.contentType).toMatch(/^text\/event-stream/);

    await aliceStream.readUntil(
      () => aliceStream.transitions().some((e) => e.resource_id === canaryId && e.to_status === "completed"),
      10_000,
    );
    expect(aliceStream.frames[0]?.comment).toBe("connected");

    const events = aliceStream.transitions();
    expect(events.every((e) => e.resource_id === canaryId && e.resource_type === "canaries")).toBe(true);
    // The first event is the creation; ids only grow; the chain of statuses is consistent.
    expect(events[0]).toMatchObject({ from_status: null, to_status: "pending", reason: "created" });
    for (let i = 1; i < events.length; i += 1) {
      const previous = events[i - 1];
      const current = events[i];
      expect(current?.id).toBeGreaterThan(previous?.id ?? Infinity);
      expect(current?.from_status).toBe(previous?.to_status);
    }
    expect(events.at(-1)?.to_status).toBe("completed");
    // Each transition frame carries its event id, for Last-Event-ID.
    const transitionFrames = aliceStream.frames.filter((f) => f.event === "transition");
    expect(transitionFrames.map((f) => Number(f.id))).toEqual(events.map((e) => e.id));

    // The stream's events match the REST list.
    const listed = await inproc.app.inject({
      method: "GET",
      url: `/api/v1/events?resource=${canaryId}`,
      headers: bearer(alice.token),
    });
    expect(listed.json<{ events: TransitionEvent[] }>().events.map((e) => e.id)).toEqual(events.map((e) => e.id));

    // Give Bob's streams one more poll period, then check they carried nothing of Alice's.
    await Promise.all([bobAll.readFor(1_200), bobFiltered.readFor(1_200)]);
    for (const bobStream of [bobAll, bobFiltered]) {
      expect(bobStream.frames[0]?.comment).toBe("connected");
      expect(bobStream.transitions()).toEqual([]);
      expect(JSON.stringify(bobStream.frames)).not.toContain(canaryId);
    }

    // Reconnecting with Last-Event-ID resumes after that event.
    const firstId = events[0]?.id ?? 0;
    const resumed = await stream(`?resource=${canaryId}`, alice, { "last-event-id": String(firstId) });
    await resumed.readUntil(() => resumed.transitions().some((e) => e.to_status === "completed"), 5_000);
    expect(resumed.transitions().map((e) => e.id)).toEqual(events.slice(1).map((e) => e.id));

    for (const connection of [aliceStream, bobAll, bobFiltered, resumed]) connection.close();
  });

  it("a stream ends with an error event once its token is revoked, and delivers nothing after", async () => {
    const key = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/auth/api-keys",
      headers: bearer(alice.token),
      payload: { name: "sse revoke" },
    });
    expect(key.statusCode).toBe(201);
    const apiKey = key.json<{ id: string; key: string }>();
    const connection = await openStream(`${baseUrl}/api/v1/events/stream`, bearer(apiKey.key));
    open.push(connection);
    expect(connection.status).toBe(200);
    await connection.readUntil((frames) => frames.length > 0, 5_000);

    const revoked = await inproc.app.inject({
      method: "DELETE",
      url: `/api/v1/auth/api-keys/${apiKey.id}`,
      headers: bearer(alice.token),
    });
    expect(revoked.statusCode).toBe(200);
    // Work that happens after the revocation must not reach the revoked stream.
    const created = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/canaries",
      headers: bearer(alice.token),
      payload: { steps: 1, step_ms: 10 },
    });
    expect(created.statusCode).toBe(201);
    const canaryId = created.json<{ id: string }>().id;

    await connection.readUntil((frames) => frames.some((f) => f.event === "error"), 8_000);
    const errorFrame = connection.frames.find((f) => f.event === "error");
    expect(JSON.parse(errorFrame?.data ?? "{}")).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    expect(JSON.stringify(connection.frames)).not.toContain(canaryId);
    // The server closed the stream: reading returns at once (an open idle stream would block
    // until its 15 s heartbeat) and brings nothing more.
    const before = connection.frames.length;
    const started = Date.now();
    await connection.readFor(3_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(connection.frames.length).toBe(before);
    connection.close();
  });

  it("an idle stream whose session is logged out is closed within a few seconds", async () => {
    const session = await registerAccount(inproc.app, "sselogout");
    const connection = await openStream(`${baseUrl}/api/v1/events/stream`, bearer(session.token));
    open.push(connection);
    await connection.readUntil((frames) => frames.length > 0, 5_000);
    const logout = await inproc.app.inject({
      method: "POST",
      url: "/api/v1/auth/logout",
      headers: bearer(session.token),
    });
    expect(logout.statusCode).toBe(200);
    await connection.readUntil((frames) => frames.some((f) => f.event === "error"), 8_000);
    connection.close();
  });

  it("a client that disconnects does not break the server", async () => {
    const connection = await stream("", alice);
    await connection.readUntil((frames) => frames.length > 0, 5_000);
    connection.close();
    await new Promise((resolve) => setTimeout(resolve, 700));
    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);
  });

  it("closing the server ends open streams promptly", async () => {
    const other = await startInProcessServer({ startControllers: false });
    try {
      const url = await other.app.listen({ port: 0, host: "127.0.0.1" });
      const account = await registerAccount(other.app, "sseclose");
      const connection = await openStream(`${url}/api/v1/events/stream`, bearer(account.token));
      await connection.readUntil((frames) => frames.length > 0, 5_000);
      const started = Date.now();
      await other.close();
      expect(Date.now() - started).toBeLessThan(5_000);
      // Reading after the close ends (or fails) instead of hanging.
      await connection.readFor(1_000).catch(() => undefined);
      connection.close();
    } finally {
      await other.close();
    }
  });
});

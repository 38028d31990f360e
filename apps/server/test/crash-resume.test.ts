import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnServer, tempDir, type ServerProcess } from "@dumont/testing";
import { api, waitFor, type CanaryView, type EventView } from "./process-client";

/**
 * SIGKILL a real server in the middle of a multi-step resource, start a new one on the same
 * database, and check the resource finishes once: every step's side effect happened exactly once
 * and every status transition was written exactly once.
 */
describe("crash and resume", () => {
  const processes: ServerProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
  });

  it("finishes a canary once after the server is SIGKILLed mid-run", async () => {
    const home = tempDir();
    const env = { DUMONT_HOME: home, DUMONT_LEASE_MS: "1500", DUMONT_POLL_MS: "100", DUMONT_LOG_LEVEL: "info" };
    const first = await spawnServer(env);
    processes.push(first);

    const session = await api<{ token: string }>(`${first.url}/api/v1/auth/register`, {
      method: "POST",
      body: { email: "crash@example.com", password: "correct horse battery" },
    });
    const token = session.body.token;
    const created = await api<CanaryView>(`${first.url}/api/v1/canaries`, {
      method: "POST",
      token,
      body: { steps: 8, step_ms: 250 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    // Kill it while it is between steps 2 and 8, without any chance to clean up.
    await waitFor("two steps done", async () => {
      const { body } = await api<CanaryView>(`${first.url}/api/v1/canaries/${id}`, { token });
      return body.steps_done >= 2 ? body : undefined;
    });
    await first.kill("SIGKILL");

    const second = await spawnServer(env);
    processes.push(second);
    const done = await waitFor("canary finished", async () => {
      const { body } = await api<CanaryView>(`${second.url}/api/v1/canaries/${id}`, { token });
      return body.status === "completed" || body.status === "failed" ? body : undefined;
    });
    expect(done).toMatchObject({ status: "completed", steps_done: 8, error: null });

    const journal = readFileSync(join(home, "canaries", `${id}.journal`), "utf8")
      .trim()
      .split("\n");
    expect(journal.map((line) => line.split(" by ")[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `step ${n}`));
    const actors = new Set(journal.map((line) => line.split(" by ")[1]));
    expect(actors.size).toBe(2); // both processes did part of the work

    const { body: events } = await api<{ events: EventView[] }>(`${second.url}/api/v1/events?resource=${id}`, {
      token,
    });
    expect(events.events.map((e) => `${e.from_status ?? "∅"}→${e.to_status}`)).toEqual([
      "∅→pending",
      "pending→running",
      "running→verifying",
      "verifying→completed",
    ]);
  });

  it("does not repeat a step whose effect happened just before the crash", async () => {
    const home = tempDir();
    const env = { DUMONT_HOME: home, DUMONT_LEASE_MS: "1000", DUMONT_POLL_MS: "100" };
    // This process kills itself right after step 3's side effect, before recording it.
    const doomed = await spawnServer({ ...env, DUMONT_DRILL_KILL_AFTER_CANARY_STEP: "3" });
    processes.push(doomed);
    const { body: session } = await api<{ token: string }>(`${doomed.url}/api/v1/auth/register`, {
      method: "POST",
      body: { email: "drill@example.com", password: "correct horse battery" },
    });
    const { body: created } = await api<CanaryView>(`${doomed.url}/api/v1/canaries`, {
      method: "POST",
      token: session.token,
      body: { steps: 5, step_ms: 20 },
    });
    await waitFor("the drill to kill the server", () =>
      Promise.resolve(doomed.child.signalCode === "SIGKILL" ? true : undefined),
    );

    const survivor = await spawnServer(env);
    processes.push(survivor);
    const done = await waitFor("canary finished", async () => {
      const { body } = await api<CanaryView>(`${survivor.url}/api/v1/canaries/${created.id}`, { token: session.token });
      return body.status === "completed" || body.status === "failed" ? body : undefined;
    });
    expect(done).toMatchObject({ status: "completed", steps_done: 5 });
    const journal = readFileSync(join(home, "canaries", `${created.id}.journal`), "utf8")
      .trim()
      .split("\n");
    expect(journal.map((line) => line.split(" by ")[0])).toEqual(["step 1", "step 2", "step 3", "step 4", "step 5"]);
  });
});

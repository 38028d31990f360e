import { afterAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dropTestSchema, spawnServer, tempDir, testDatabase, testDialects, type ServerProcess } from "@dumont/testing";
import { api, waitFor, type CanaryView, type EventView } from "./process-client";

const multiProcess = (await testDialects()).includes("postgres");

/**
 * Two server processes on one PostgreSQL: every canary is driven to completion, no step runs twice
 * (each journal lists steps 1..N once), and both replicas did part of the work.
 */
describe.skipIf(!multiProcess)("two replicas on one PostgreSQL", () => {
  const database = testDatabase("postgres");
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    await dropTestSchema(database);
  });

  it("splits the work without double-driving any resource", async () => {
    const home = tempDir();
    const env = {
      DUMONT_HOME: home,
      DATABASE_URL: database.databaseUrl ?? "",
      DUMONT_PG_SCHEMA: database.pgSchema ?? "",
      DUMONT_SECRET_KEY: "replica-test-shared-secret",
      DUMONT_LEASE_MS: "3000",
      DUMONT_POLL_MS: "50",
      DUMONT_CONTROLLER_CONCURRENCY: "2",
    };
    const [a, b] = await Promise.all([
      spawnServer({ ...env, DUMONT_REPLICA_ID: "replica-a" }),
      spawnServer({ ...env, DUMONT_REPLICA_ID: "replica-b" }),
    ]);
    processes.push(a, b);

    const { body: session } = await api<{ token: string }>(`${a.url}/api/v1/auth/register`, {
      method: "POST",
      body: { email: "replicas@example.com", password: "correct horse battery" },
    });
    const token = session.token;
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const target = i % 2 === 0 ? a : b; // the token works on both: state lives in the database
      const { body } = await api<CanaryView>(`${target.url}/api/v1/canaries`, {
        method: "POST",
        token,
        body: { steps: 3, step_ms: 60 },
      });
      ids.push(body.id);
    }

    await waitFor(
      "all canaries finished",
      async () => {
        const { body } = await api<{ canaries: CanaryView[] }>(`${b.url}/api/v1/canaries`, { token });
        return body.canaries.every((c) => c.status === "completed" || c.status === "failed") ? true : undefined;
      },
      60_000,
    );
    const { body: list } = await api<{ canaries: CanaryView[] }>(`${a.url}/api/v1/canaries`, { token });
    expect(list.canaries.filter((c) => c.status !== "completed")).toEqual([]);

    const stepActors = new Set<string>();
    for (const id of ids) {
      const journal = readFileSync(join(home, "canaries", `${id}.journal`), "utf8")
        .trim()
        .split("\n");
      expect(journal.map((line) => line.split(" by ")[0])).toEqual(["step 1", "step 2", "step 3"]);
      for (const line of journal) stepActors.add(line.split(" by ")[1] ?? "");
    }
    expect(stepActors).toEqual(new Set(["replica-a", "replica-b"]));

    const { body: events } = await api<{ events: EventView[] }>(`${a.url}/api/v1/events?limit=1000`, { token });
    for (const id of ids) {
      const transitions = events.events.filter((e) => e.resource_id === id).map((e) => e.to_status);
      expect(transitions).toEqual(["pending", "running", "verifying", "completed"]);
    }
  });
});

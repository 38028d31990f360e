import { afterAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

/** `npm start` ends with one plain line for a person: where, which database, and whether the market is real. */
describe("dumont server's ready line", () => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
  });

  it("names the URL, the database and a SIMULATED market", async () => {
    const home = tempDir();
    server = await spawnServer({ DUMONT_HOME: home, DUMONT_MARKET: "embedded" });
    const deadline = Date.now() + 5_000;
    while (!server.output().includes("dumont server ready at") && Date.now() < deadline) await sleep(50);
    const line =
      server
        .output()
        .split("\n")
        .find((l) => l.startsWith("dumont server ready at")) ?? "";
    expect(line).toContain(server.url);
    expect(line).toContain(`database sqlite ${home}/dumont.db`);
    expect(line).toContain("market SIMULATED");
  });
});

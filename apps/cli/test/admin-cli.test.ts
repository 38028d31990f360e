import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

const PASSWORD = "correct horse battery";

/**
 * `dumont admin …`: the operator is created on the host (no HTTP), registration then needs an
 * invite, and a user's admin commands over HTTP fail with 403 FORBIDDEN. Real server process on
 * the real default policy (DUMONT_REGISTRATION unset), one config directory per person.
 */
describe("dumont admin against a real server", () => {
  const home = tempDir();
  const configs = {
    operator: tempDir("dumont-cli-op-"),
    bob: tempDir("dumont-cli-bob-"),
    eve: tempDir("dumont-cli-eve-"),
  };
  let server: ServerProcess | undefined;
  const as = (who: keyof typeof configs, args: string[]) =>
    runCli(args, { env: { XDG_CONFIG_HOME: configs[who], DUMONT_API_URL: server?.url ?? "http://127.0.0.1:9" } });

  beforeAll(async () => {
    // On the host, before the server runs: writes the operator straight into DUMONT_HOME's database.
    const created = await runCli(["admin", "create", "root@example.com", PASSWORD], {
      env: { DUMONT_HOME: home, DATABASE_URL: "", DUMONT_LOG_LEVEL: "silent" },
    });
    expect(created.stderr).toBe("");
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toContain("Created operator root@example.com");
    server = await spawnServer({ DUMONT_HOME: home, DUMONT_REGISTRATION: "", DUMONT_MARKET: "off" });
  });
  afterAll(async () => {
    await server?.kill();
  });

  it("the operator made on the host logs in as operator; registering without an invite is refused", async () => {
    expect(await as("operator", ["auth", "login", "root@example.com", PASSWORD])).toMatchObject({ code: 0 });
    const me = await as("operator", ["auth", "me"]);
    expect(me.stdout).toMatch(/role:\s+operator/);

    const refused = await as("eve", ["auth", "register", "eve@example.com", PASSWORD]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("code: REGISTRATION_CLOSED (HTTP 403)");
    expect(refused.stderr).toContain("--invite");
  });

  it("an invite from `admin invite create` registers a user once", async () => {
    const invite = await as("operator", ["--json", "admin", "invite", "create", "--note", "bob"]);
    expect(invite.code).toBe(0);
    const { code } = JSON.parse(invite.stdout) as { code: string };
    const bob = await as("bob", ["auth", "register", "bob@example.com", PASSWORD, "--invite", code]);
    expect(bob).toMatchObject({ code: 0 });
    expect(bob.stdout).toContain("role: user");
    const again = await as("eve", ["auth", "register", "eve@example.com", PASSWORD, "--invite", code]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("REGISTRATION_CLOSED");
    const listed = await as("operator", ["admin", "invite", "list"]);
    expect(listed.stdout).toMatch(/used/);
    expect(listed.stdout).not.toContain(code);
  });

  it("a user's admin commands fail with 403 FORBIDDEN; the operator's work", async () => {
    for (const args of [
      ["admin", "user", "list"],
      ["admin", "invite", "create"],
      ["admin", "invite", "list"],
      ["admin", "user", "set-cap", "bob@example.com", "1000"],
    ]) {
      const result = await as("bob", args);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toContain("code: FORBIDDEN (HTTP 403)");
      expect(result.stderr).not.toContain("root@example.com");
    }
    const set = await as("operator", ["admin", "user", "set-cap", "bob@example.com", "5"]);
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toMatch(/cap:\s+\$5\.00/);
    const users = await as("operator", ["--json", "admin", "user", "list"]);
    const list = JSON.parse(users.stdout) as { email: string; role: string; spending: { cap_usd: number | null } }[];
    expect(list.find((u) => u.email === "bob@example.com")).toMatchObject({ role: "user", spending: { cap_usd: 5 } });
    expect(list.find((u) => u.email === "root@example.com")).toMatchObject({
      role: "operator",
      spending: { cap_usd: null },
    });
  });
});

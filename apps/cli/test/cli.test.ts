import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

/** The CLI exactly as a user runs it: the built bin, a real server process, a scratch config dir. */
describe("dumont CLI against a real server", () => {
  let server: ServerProcess;
  const configHome = tempDir("dumont-cli-config-");
  const run = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
    runCli(args, {
      stdin: options.stdin,
      env: { XDG_CONFIG_HOME: configHome, DUMONT_API_URL: server.url, ...options.env },
    });

  beforeAll(async () => {
    server = await spawnServer({ DUMONT_HOME: tempDir() });
  });
  afterAll(async () => {
    await server.kill();
  });

  it("registers, logs in, shows me, logs out; me then fails clearly with exit 1", async () => {
    const register = await run(["auth", "register", "cli@example.com"], { stdin: "correct horse battery\n" });
    expect(register.stderr).toBe("");
    expect(register).toMatchObject({ code: 0 });
    expect(register.stdout).toContain("Registered and logged in as cli@example.com");

    const file = join(configHome, "dumont", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toContain("dmt_");

    const login = await run(["auth", "login", "cli@example.com", "correct horse battery"]);
    expect(login).toMatchObject({ code: 0 });
    const me = await run(["auth", "me"]);
    expect(me.code).toBe(0);
    expect(me.stdout).toMatch(/email:\s+cli@example\.com/);

    const meJson = await run(["--json", "auth", "me"]);
    expect(JSON.parse(meJson.stdout)).toMatchObject({ authenticated: true, user: { email: "cli@example.com" } });

    expect(await run(["auth", "logout"])).toMatchObject({ code: 0 });
    const after = await run(["auth", "me"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("Error: this request needs a bearer token");
    expect(after.stderr).toContain("code: UNAUTHENTICATED (HTTP 401)");
    expect(after.stderr).toContain("how to fix: Log in with `dumont auth login <email>`");

    const afterJson = await run(["--json", "auth", "me"]);
    expect(afterJson.code).toBe(1);
    expect(JSON.parse(afterJson.stdout)).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
  });

  it("rejects a wrong password with exit 1 and usage errors with exit 2", async () => {
    const wrong = await run(["auth", "login", "cli@example.com", "not the password"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("INVALID_CREDENTIALS");
    expect((await run(["auth", "login"])).code).toBe(2);
    expect((await run(["no-such-noun"])).code).toBe(2);
    expect((await run(["--help"])).code).toBe(0);
  });

  it("creates, uses, lists and revokes an API key", async () => {
    await run(["auth", "login", "cli@example.com", "correct horse battery"]);
    const created = await run(["--json", "auth", "api-key", "create", "ci-runner"]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    expect(key.key).toMatch(/^dmk_/);

    const asScript = await run(["--json", "auth", "me"], { env: { DUMONT_TOKEN: key.key } });
    expect(JSON.parse(asScript.stdout)).toMatchObject({ token: { kind: "api_key", id: key.id } });

    const list = await run(["auth", "api-key", "list"]);
    expect(list.stdout).toContain("ci-runner");
    expect(list.stdout).not.toContain(key.key);

    expect((await run(["auth", "api-key", "revoke", key.id])).code).toBe(0);
    const revoked = await run(["auth", "me"], { env: { DUMONT_TOKEN: key.key } });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain("UNAUTHENTICATED");
  });

  it("stores the Vast.ai key without ever printing it", async () => {
    const set = await run(["settings", "set-vast-key"], { stdin: "vast-key-abcdefgh-9876\n" });
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toContain("…9876");
    const show = await run(["settings", "show"]);
    expect(show.stdout).toContain("set (…9876)");
    expect(show.stdout + set.stdout).not.toContain("vast-key-abcdefgh");
    expect(server.output()).not.toContain("vast-key-abcdefgh");
  });

  it("explains an unreachable server", async () => {
    const result = await run(["auth", "me"], { env: { DUMONT_API_URL: "http://127.0.0.1:9" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot reach the Dumont server at http://127.0.0.1:9");
    expect(result.stderr).toContain("how to fix: Start it with `dumont server`");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { hostKeyAlias } from "../src/ssh/machine-ssh";
import { DUMONT_BIN, runCli, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

/** A key pair made by the system's ssh-keygen (test set-up; the CLI itself never writes keys). */
function keygen(file: string): void {
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", file]);
}

/**
 * SSH through the real CLI binary against a real server and its embedded market: the check before
 * renting, the printed command naming its key, `instance ssh` with the command's exit code and
 * across a resume (new port), and `instance scp|rsync` both ways — with HOME pointed at a fresh
 * directory where nothing may appear under .ssh.
 */
describe("dumont instance ssh|scp|rsync and the SSH key check", () => {
  let server: ServerProcess;
  const configHome = tempDir("dumont-ssh-cli-config-");
  const home = tempDir("dumont-ssh-cli-home-");
  const keys = tempDir("dumont-ssh-cli-keys-");
  const env = (extra: Record<string, string> = {}) => ({
    XDG_CONFIG_HOME: configHome,
    DUMONT_API_URL: server.url,
    HOME: home,
    ...extra,
  });
  const run = (args: string[], extra?: Record<string, string>) => runCli(args, { env: env(extra) });
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await run(["--json", ...args]);
    if (result.code !== 0) throw new Error(`dumont ${args.join(" ")} failed: ${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  const waitStatus = async (id: string, status: string) => {
    for (let i = 0; i < 300; i++) {
      const instance = await json<{ status: string; ssh_port: number | null; error: string | null }>([
        "instance",
        "get",
        id,
      ]);
      if (instance.status === status) return instance;
      if (instance.status === "failed") throw new Error(`instance failed: ${instance.error ?? ""}`);
      await sleep(150);
    }
    throw new Error(`instance ${id} never reached ${status}`);
  };
  const cheapOffer = async () => {
    const { offers } = await json<{ offers: { id: string }[] }>(["instance", "offers", "price=3", "limit=1"]);
    return offers[0]?.id ?? "";
  };

  beforeAll(async () => {
    server = await spawnServer({
      DUMONT_HOME: tempDir(),
      DUMONT_MARKET_TIME_SCALE: "0.02",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
    });
    await run(["auth", "register", "ssh@example.com", "correct horse battery"]);
  });
  afterAll(async () => {
    await server.kill();
  });

  it("refuses to rent with no SSH key on the account, saying which command to run (exit 1, SSH_KEY_REQUIRED)", async () => {
    const withKey = tempDir("dumont-ssh-cli-home-with-key-");
    keygen(join(withKey, ".ssh/id_ed25519"));
    const offer = await cheapOffer();

    const human = await run(["instance", "create", offer, "--disk", "10"], { HOME: withKey });
    expect(human.code).toBe(1);
    expect(human.stderr).toContain("code: SSH_KEY_REQUIRED");
    expect(human.stderr).toContain("dumont ssh-key add ~/.ssh/id_ed25519.pub");
    expect(human.stderr).toContain("--no-ssh-key-check");

    const machine = await run(["--json", "wizard", "deploy", "speed=any", "price=3", "--disk", "10"], {
      HOME: withKey,
    });
    expect(machine.code).toBe(1);
    const body = JSON.parse(machine.stdout) as { error: { code: string; hint: string } };
    expect(body.error.code).toBe("SSH_KEY_REQUIRED");
    expect(body.error.hint).toContain("dumont ssh-key add ~/.ssh/id_ed25519.pub");

    // No key anywhere: the hint starts from ssh-keygen.
    const bare = await run(["instance", "create", offer, "--disk", "10"]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain("ssh-keygen -t ed25519");
    expect((await json<{ count: number }>(["instance", "list"])).count).toBe(0);
  });

  it("on a terminal, offers ~/.ssh/id_ed25519.pub (y/N) and adds it before renting", async () => {
    const withKey = tempDir("dumont-ssh-cli-home-tty-");
    keygen(join(withKey, ".ssh/id_ed25519"));
    const before = readdirSync(join(withKey, ".ssh")).sort();
    const offer = await cheapOffer();
    // `script` gives the CLI a terminal, as a user at a shell has.
    const command = [process.execPath, DUMONT_BIN, "instance", "create", offer, "--disk", "10"].join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { ...process.env, ...env({ HOME: withKey }) },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("[y/N]") && !output.includes("\u0000answered")) {
        output += "\u0000answered";
        child.stdin.write("y\r");
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(output).toContain("Add ~/.ssh/id_ed25519.pub now? [y/N]");
    expect(code).toBe(0);
    expect(output).toMatch(/Added SSH key key_\w+ \(SHA256:/);
    const id = /id:\s+(\S+)/.exec(output)?.[1] ?? "";
    expect(id).not.toBe("");

    const added = await json<{ id: string; name: string }[]>(["ssh-key", "list"]);
    expect(added.map((k) => k.name)).toEqual(["id_ed25519.pub"]);
    expect(readdirSync(join(withKey, ".ssh")).sort()).toEqual(before);

    // The printed command carries the key it needs, found by fingerprint in ~/.ssh.
    await waitStatus(id, "running");
    const details = await run(["instance", "get", id], { HOME: withKey });
    expect(details.stdout).toMatch(/Connect:\s+ssh -i ~\/\.ssh\/id_ed25519 -p \d+ root@127\.0\.0\.1/);
    expect((await run(["instance", "delete", id, "--yes"])).code).toBe(0);
    await waitStatus(id, "destroyed");
    expect((await run(["ssh-key", "remove", added[0]?.id ?? ""])).code).toBe(0);
  });

  it("ssh returns the command's exit code, follows the port after pause and resume, and scp/rsync copy both ways", async () => {
    const key = join(keys, "id_dumont");
    keygen(key);
    const added = await json<{ id: string }>(["ssh-key", "add", `${key}.pub`, "--name", "test key"]);
    const created = await json<{ id: string }>(["instance", "create", await cheapOffer(), "--disk", "10"]);
    const first = await waitStatus(created.id, "running");

    // The key is not in ~/.ssh, so the printed command names it instead.
    const details = await run(["instance", "get", created.id]);
    expect(details.stdout).toMatch(/Connect:\s+ssh -p \d+ root@127\.0\.0\.1/);
    expect(details.stdout).toContain('It needs the private half of your SSH key "test key" (SHA256:');

    const ssh = await run(["instance", "ssh", created.id, "-i", key, "--", "echo hi from $(pwd); exit 7"]);
    expect(ssh.stdout).toBe("hi from /workspace\n");
    expect(ssh.code).toBe(7);
    // Host keys land in the dumont config directory, filed under the instance (hashed, as the
    // system's ssh_config may ask), so a new port after resume is the same known machine.
    const knownHosts = join(configHome, "dumont/known_hosts");
    expect(() => execFileSync("ssh-keygen", ["-F", hostKeyAlias(created.id), "-f", knownHosts])).not.toThrow();

    expect((await run(["instance", "pause", created.id])).code).toBe(0);
    await waitStatus(created.id, "paused");
    const paused = await run(["instance", "ssh", created.id, "-i", key, "--", "true"]);
    expect(paused.code).toBe(1);
    expect(paused.stderr).toContain(`dumont instance resume ${created.id}`);
    expect((await run(["instance", "resume", created.id])).code).toBe(0);
    const second = await waitStatus(created.id, "running");
    // The market listens on a fresh port after every start, as Vast maps a new one.
    expect(second.ssh_port).not.toBe(first.ssh_port);
    const again = await run(["instance", "ssh", created.id, "-i", key, "--", "echo back"]);
    expect(again).toMatchObject({ code: 0, stdout: "back\n" });

    const local = tempDir("dumont-ssh-cli-files-");
    writeFileSync(join(local, "up.txt"), "up and over\n");
    expect((await run(["instance", "scp", created.id, "-i", key, join(local, "up.txt"), ":up.txt"])).code).toBe(0);
    const cat = await run(["instance", "ssh", created.id, "-i", key, "--", "cat /workspace/up.txt"]);
    expect(cat.stdout).toBe("up and over\n");
    expect((await run(["instance", "scp", created.id, "-i", key, ":up.txt", join(local, "down.txt")])).code).toBe(0);
    expect(readFileSync(join(local, "down.txt"), "utf8")).toBe("up and over\n");

    mkdirSync(join(local, "src/nested"), { recursive: true });
    writeFileSync(join(local, "src/a.txt"), "alpha\n");
    writeFileSync(join(local, "src/nested/b.bin"), Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251)));
    const push = await run(["instance", "rsync", created.id, "-i", key, `${join(local, "src")}/`, ":data/"]);
    expect(push.code).toBe(0);
    const listed = await run(["instance", "ssh", created.id, "-i", key, "--", "wc -c < /workspace/data/nested/b.bin"]);
    expect(listed.stdout.trim()).toBe("50000");
    const pull = await run(["instance", "rsync", created.id, "-i", key, ":data/", `${join(local, "back")}/`]);
    expect(pull.code).toBe(0);
    expect(readFileSync(join(local, "back/nested/b.bin"))).toEqual(readFileSync(join(local, "src/nested/b.bin")));
    expect(readFileSync(join(local, "back/a.txt"), "utf8")).toBe("alpha\n");

    const both = await run(["instance", "scp", created.id, ":a", ":b"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("exactly one of source and destination");

    expect(existsSync(join(home, ".ssh"))).toBe(false);
    expect((await run(["instance", "delete", created.id, "--yes"])).code).toBe(0);
    await waitStatus(created.id, "destroyed");
    expect((await run(["ssh-key", "remove", added.id])).code).toBe(0);
  });
});

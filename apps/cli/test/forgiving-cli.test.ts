import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliSession, spawnServer, tempDir, type ServerProcess } from "@dumont/testing";

interface JsonError {
  error: { code: string; message: string; details: Record<string, unknown>; hint?: string };
}

/**
 * The CLI forgives and explains: names read as the market spells them, empty answers say why,
 * every error (parse errors too) is JSON with --json, exit 2 for a wrong command line and 1 for a
 * failed operation, progress on long waits, confirmation before destroying, shell completion.
 * All through the built binary against a real server on the simulated market.
 */
describe("a CLI that forgives and explains", () => {
  let server: ServerProcess;
  const configHome = tempDir("dumont-cli-config-");
  const { run, json } = cliSession(() => ({ XDG_CONFIG_HOME: configHome, DUMONT_API_URL: server.url }));
  const token = () =>
    (
      JSON.parse(readFileSync(join(configHome, "dumont", "config.json"), "utf8")) as {
        servers: Record<string, { token: string }>;
      }
    ).servers[server.url]?.token ?? "";

  beforeAll(async () => {
    server = await spawnServer({
      DUMONT_HOME: tempDir(),
      DUMONT_MARKET_TIME_SCALE: "0.02",
      DUMONT_INSTANCE_POLL_MS: "200",
      DUMONT_INSTANCE_IDLE_POLL_MS: "500",
      DUMONT_JOB_POLL_MS: "300",
    });
    await run(["auth", "register", "forgiving@example.com", "correct horse battery"]);
    const dir = tempDir();
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id")]);
    expect((await run(["ssh-key", "add", join(dir, "id.pub")])).code).toBe(0);
  });
  afterAll(async () => {
    await server.kill();
  });

  it("exits 2 with a JSON error for every kind of wrong command line, 1 for a failed operation", async () => {
    const usage: [string[], string][] = [
      [["no-such-noun"], "unknown command 'no-such-noun'"],
      [["instance", "no-such-verb"], "unknown command 'no-such-verb'"],
      [["instance", "offers", "--no-such-flag"], "unknown option '--no-such-flag'"],
      [["instance", "get"], "missing required argument 'id'"],
      [["instance", "create", "123", "--disk", "lots"], "expected a positive number"],
      [["instance"], "a command is needed"],
      [["instance", "offers", "colour=blue"], 'unknown key "colour"'],
      [["instance", "offers", "price"], 'unexpected argument "price"'],
      [["instance", "offers", "price=cheap"], "max_price"],
      [["wizard", "deploy", "limit=3"], "batch_size × max_batches"],
      [["history", "reliable", "--min-success-rate", "2"], "expected a rate from 0 to 1"],
      [["completion", "tcsh"], 'no completion for the shell "tcsh"'],
    ];
    for (const [args, message] of usage) {
      const human = await run(args);
      expect(human.code, args.join(" ")).toBe(2);
      expect(human.stdout, args.join(" ")).toBe("");
      const machine = await run(["--json", ...args]);
      expect(machine.code, args.join(" ")).toBe(2);
      expect(machine.stderr, args.join(" ")).toBe("");
      const body = JSON.parse(machine.stdout) as JsonError;
      expect(["USAGE", "VALIDATION_FAILED"], args.join(" ")).toContain(body.error.code);
      expect(`${body.error.message} ${body.error.hint ?? ""}`, args.join(" ")).toContain(message);
    }

    const failed = await run(["--json", "instance", "get", "ins_doesnotexist"]);
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as JsonError).error.code).toBe("NOT_FOUND");
    expect((await run(["--help"])).code).toBe(0);
    expect((await run(["instance", "--help"])).code).toBe(0);
  });

  it("reads vast as vast.ai everywhere and refuses a provider no marketplace has", async () => {
    const entry = await json<{ provider: string }>(["blacklist", "add", "vast", "777001", "flaky disk"]);
    expect(entry.provider).toBe("vast.ai");
    expect((await run(["blacklist", "check", "VAST.AI", "777001"])).stdout).toContain("vast.ai/777001 is blacklisted");
    const listed = await json<{ machine_id: string }[]>(["blacklist", "list", "--provider", "vast"]);
    expect(listed.map((e) => e.machine_id)).toContain("777001");
    expect((await run(["blacklist", "remove", "vast", "777001"])).code).toBe(0);
    expect((await run(["history", "summary", "--provider", "vast"])).code).toBe(0);

    for (const args of [
      ["history", "summary", "--provider", "vast.io"],
      ["history", "list", "--provider", "runpod"],
      ["history", "reliable", "--provider", "nope"],
      ["blacklist", "add", "vastai.com", "1", "why"],
      ["blacklist", "check", "nope", "1"],
    ]) {
      const result = await run(["--json", ...args]);
      expect(result.code, args.join(" ")).toBe(2);
      const body = JSON.parse(result.stdout) as JsonError;
      expect(body.error.code).toBe("VALIDATION_FAILED");
      expect(body.error.message).toMatch(/unknown provider ".+": use vast\.ai/);
    }
  });

  it("reads GPU names as the market spells them, lists the choices of an ambiguous one, explains an empty search", async () => {
    for (const typed of ["RTX4090", "rtx 4090", "4090", "rtx_4090"]) {
      const { offers } = await json<{ offers: { gpu_name: string }[] }>([
        "instance",
        "offers",
        `gpu=${typed}`,
        "limit=4",
      ]);
      expect(offers.length, typed).toBeGreaterThan(0);
      expect(offers.length, typed).toBeLessThanOrEqual(4);
      expect(new Set(offers.map((o) => o.gpu_name)), typed).toEqual(new Set(["RTX 4090"]));
    }
    // limit= as a key=value is not overridden by the flag's default any more.
    const limited = await json<{ offers: unknown[] }>(["instance", "offers", "limit=2"]);
    expect(limited.offers).toHaveLength(2);

    const ambiguous = await run(["instance", "offers", "gpu=H100"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('"H100" matches several GPUs: H100 PCIE, H100 SXM, H100 NVL');

    const empty = await run(["instance", "offers", "gpu=4090", "price=0.01"]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(
      /No offer matches: max_price=0\.01 left none \(\d+ on-demand offers with gpu_name=RTX 4090\)/,
    );
    const unknown = await json<{ empty_reason: string }>(["instance", "offers", "gpu=RTX 9999"]);
    expect(unknown.empty_reason).toContain("not a GPU name we know");

    // A deployment that finds nothing says which filter emptied it, defaults named as such.
    const deploy = await run(["--json", "wizard", "deploy", "B200"]);
    expect(deploy.code).toBe(1);
    const failed = JSON.parse(deploy.stdout) as { status: string; error: string; config: { gpu_name: string } };
    expect(failed.status).toBe("failed");
    expect(failed.config.gpu_name).toBe("B200");
    expect(failed.error).toMatch(/max_price=2 \(default\) left none/);
  });

  it("asks before destroying, waits with progress on create, pause, resume and delete", async () => {
    const { offers } = await json<{ offers: { id: string }[] }>(["instance", "offers", "preset=test", "limit=1"]);
    const created = await run(["instance", "create", offers[0]?.id ?? "", "--disk", "10", "--wait"]);
    expect(created.code).toBe(0);
    // Not a terminal: plain progress lines on stderr, each with elapsed time, state and cost so far.
    expect(created.stderr).toMatch(/^\[\d+s\] ins_\w+: (creating|booting) .*cost so far ~?\$[\d.]+/m);
    expect(created.stderr).toMatch(/^\[\d+s\] ins_\w+: running /m);
    const id = /^\[\d+s\] (ins_\w+): /m.exec(created.stderr)?.[1] ?? "";
    expect(id).toMatch(/^ins_/);

    const paused = await json<{ status: string }>(["instance", "pause", id, "--wait"]);
    expect(paused.status).toBe("paused");
    const resumed = await json<{ status: string }>(["instance", "resume", id, "--wait"]);
    expect(resumed.status).toBe("running");

    // A script (no terminal) must say --yes: refused as a usage error, the machine untouched.
    const refused = await run(["instance", "delete", id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`refusing to destroy ${id} without confirmation`);
    expect(refused.stderr).toContain("--yes");
    expect((await json<{ status: string }>(["instance", "get", id])).status).toBe("running");

    const deleted = await run(["instance", "delete", id, "--yes", "--wait"]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`${id} is destroyed`);
    expect(deleted.stderr).toMatch(/: destroyed( — .*)? \(waiting for destroyed/);
  });

  it("shows the race and its cost while deploying, and the job's progress while waiting", async () => {
    const deploy = await run(["wizard", "deploy", "speed=any", "price=3", "disk=10", "batch_size=2", "max_batches=1"]);
    expect(deploy.code).toBe(0);
    expect(deploy.stderr).toMatch(
      /^\[\d+s\] waiting: batch 1, \d+ offers, \d+ rented \(.*\), cost so far ~?\$[\d.]+$/m,
    );
    // The CLI hands over the machine once the winner is verified (ready), losers still going.
    expect(deploy.stderr).toMatch(/^\[\d+s\] (ready|completed): /m);
    const winner = /(ins_\w+)\s+1\s+.*★ winner/.exec(deploy.stdout)?.[1] ?? "";
    expect((await run(["instance", "delete", winner, "--yes"])).code).toBe(0);

    const job = await json<{ id: string }>([
      "job",
      "create",
      "progress",
      "--command=echo hi",
      "--max-price",
      "3",
      "--disk",
      "10",
    ]);
    const waited = await run(["job", "wait", job.id]);
    expect(waited.code).toBe(0);
    expect(waited.stderr).toMatch(/^\[\d+s\] provisioning \(attempt 1.*\), cost so far \$[\d.]+$/m);
    expect(waited.stderr).toMatch(/^\[\d+s\] completed /m);
  });

  it("says which threshold emptied history reliable|problematic, and takes them as flags", async () => {
    const reliable = await run(["history", "reliable", "--min-attempts", "99", "--min-success-rate", "0.9"]);
    expect(reliable.code).toBe(0);
    expect(reliable.stdout).toContain("No host has 99+ attempts and a success rate ≥ 90%");
    expect(reliable.stdout).toContain("--min-attempts 99, --min-success-rate 0.9");
    const problematic = await run(["history", "problematic", "--min-attempts", "500"]);
    expect(problematic.stdout).toContain("No host has 500+ attempts and a success rate ≤ 50%");
    expect(problematic.stdout).toContain("(--min-attempts 500, --max-success-rate 0.5)");
  });

  it("refuses job flags its source does not use, at the CLI and at the API; a failed setup says so", async () => {
    for (const [args, flag] of [
      [["--git-url=https://example.com/r.git"], "--git-url"],
      [["--source=git", "--git-url=https://example.com/r.git", "--hf-repo=a/b"], "--hf-repo"],
      [["--git-branch=main"], "--git-branch"],
    ] as const) {
      const result = await run(["job", "create", "x", "--command=true", ...args]);
      expect(result.code, flag).toBe(2);
      expect(result.stderr, flag).toContain(`${flag} is only for --source=`);
    }
    const response = await fetch(`${server.url}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "x", command: "true", git_url: "https://example.com/r.git" }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as JsonError;
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.message).toContain("git_url: only for source git");

    const job = await json<{ id: string }>([
      "job",
      "create",
      "bad-setup",
      "--command=echo never",
      "--setup=exit 7",
      "--max-price",
      "3",
      "--disk",
      "10",
    ]);
    const waited = await run(["--json", "job", "wait", job.id]);
    expect(waited.code).toBe(1);
    const final = JSON.parse(waited.stdout) as { status: string; error_message: string };
    expect(final.status).toBe("failed");
    expect(final.error_message).toBe("setup failed: the setup script, exit code 7");
  });

  it("prints bash, zsh and fish completion generated from the command tree", async () => {
    const bash = await run(["completion", "bash"]);
    expect(bash.code).toBe(0);
    const script = join(tempDir(), "dumont.bash");
    writeFileSync(script, bash.stdout);
    const complete = (...words: string[]) =>
      execFileSync("bash", [
        "-c",
        `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _dumont; echo "\${COMPREPLY[*]}"`,
      ])
        .toString()
        .trim();
    expect(complete("dumont", "inst")).toBe("instance");
    expect(complete("dumont", "instance", "del")).toBe("delete");
    expect(complete("dumont", "instance", "delete", "ins_1", "--y")).toBe("--yes");
    expect(complete("dumont", "--json", "history", "reliable", "--min-")).toBe("--min-attempts --min-success-rate");
    expect(complete("dumont", "completion", "")).toContain("--help");

    const zsh = await run(["completion", "zsh"]);
    expect(zsh.stdout).toContain("#compdef dumont");
    expect(zsh.stdout).toContain('"instance delete") opts=(');
    const fish = await run(["completion", "fish"]);
    expect(fish.stdout).toContain("complete -c dumont -n '__dumont_at \\'instance\\'' -a delete");
    expect(fish.stdout).toContain("-l yes");
  });
});

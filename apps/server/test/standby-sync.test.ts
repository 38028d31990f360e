import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDumontError } from "@dumont/core";
import {
  GcpComputeProvider,
  generateSshKeyPair,
  sshExec,
  type SshEndpoint,
  type StandbyMachine,
} from "@dumont/providers";
import { tempDir } from "@dumont/testing";
import { ItemizedChanges, OutputTail, parseRsyncStats, RsyncOutputError } from "../src/transfer/rsync-stats";
import { normalizeHostKey, hostKeyFromBlob } from "../src/transfer/standby-host-key";
import {
  countStandbyFiles,
  installSyncKey,
  readHostKey,
  restoreFromStandby,
  syncToStandby,
  verifyRestore,
} from "../src/transfer/standby-sync";
import {
  generateKey,
  runningInstance,
  startTestMarket,
  waitFor,
  type TestMarket,
} from "../../marketplace/test/helpers";
import {
  checkedLink,
  excludeFileText,
  knownHostsLine,
  rsyncCommandLine,
  type StandbyLink,
} from "../src/transfer/standby-link";

const HOST_KEY = generateSshKeyPair("host").publicKey;

const STATS = `skipping non-regular file "l"

Number of files: 5 (reg: 2, dir: 2, link: 1)
Number of created files: 3 (reg: 2, dir: 1)
Number of deleted files: 0
Number of regular files transferred: 2
Total file size: 5,004 bytes
Total transferred file size: 5,003 bytes
Literal data: 5,003 bytes
Matched data: 0 bytes
File list size: 0
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 1,234,567
Total bytes received: 103

sent 1,234,567 bytes  received 103 bytes  10,646.00 bytes/sec
total size is 5,004  speedup is 0.94
`;

describe("parseRsyncStats: what a GPU machine's rsync printed", () => {
  it("reads rsync 3.2's grouped numbers", () => {
    expect(parseRsyncStats(STATS)).toEqual({
      regularFiles: 2,
      filesTransferred: 2,
      bytesSent: 1_234_567,
      bytesReceived: 103,
    });
  });

  it("reads what this host's own rsync prints (no mock of the format)", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "a/sub"), { recursive: true });
    writeFileSync(join(dir, "a/x"), "hi");
    writeFileSync(join(dir, "a/sub/y"), Buffer.alloc(5000, 1));
    symlinkSync("x", join(dir, "a/l"));
    const run = () =>
      spawnSync("rsync", ["--recursive", "--times", "--no-links", "--stats", `${dir}/a/`, `${dir}/b/`], {
        encoding: "utf8",
      });
    const first = run();
    expect(first.status).toBe(0);
    expect(parseRsyncStats(first.stdout)).toMatchObject({ regularFiles: 2, filesTransferred: 2 });
    expect(parseRsyncStats(run().stdout)).toMatchObject({ regularFiles: 2, filesTransferred: 0 });
    // A tree of directories only: rsync lists no "reg" kind at all.
    mkdirSync(join(dir, "empty/d"), { recursive: true });
    const empty = spawnSync("rsync", ["-r", "--stats", `${dir}/empty/`, `${dir}/c/`], { encoding: "utf8" });
    expect(parseRsyncStats(empty.stdout)).toMatchObject({ regularFiles: 0, filesTransferred: 0 });
  });

  it("reads plain digits (older rsync) and dot grouping (a comma-decimal locale)", () => {
    const plain = STATS.replace("1,234,567", "1234567").replace("(reg: 2, dir: 2, link: 1)", "(reg: 2, dir: 3)");
    expect(parseRsyncStats(plain).bytesSent).toBe(1_234_567);
    expect(parseRsyncStats(STATS.replace("Total bytes sent: 1,234,567", "Total bytes sent: 1.234.567")).bytesSent).toBe(
      1_234_567,
    );
    const old = STATS.replace("Number of regular files transferred", "Number of files transferred");
    expect(parseRsyncStats(old).filesTransferred).toBe(2);
    expect(parseRsyncStats(STATS.replaceAll("\n", "\r\n")).regularFiles).toBe(2);
  });

  it.each([
    ["a missing line", STATS.replace(/^Total bytes sent.*$/m, "")],
    ["nothing at all", ""],
    ["a garbled number", STATS.replace("Total bytes sent: 1,234,567", "Total bytes sent: 1,23,4567")],
    ["a negative number", STATS.replace("Total bytes received: 103", "Total bytes received: -103")],
    ["a number with an exponent", STATS.replace("Total bytes received: 103", "Total bytes received: 1e400")],
    ["a number past 2^53", STATS.replace("Total bytes received: 103", "Total bytes received: 99999999999999999999")],
    ["mixed separators", STATS.replace("Total bytes sent: 1,234,567", "Total bytes sent: 1,234.567")],
    ["a line said twice", `${STATS}Number of regular files transferred: 0\n`],
    ["trailing text", STATS.replace("Total bytes received: 103", "Total bytes received: 103 bytes")],
    ["a garbled breakdown", STATS.replace("(reg: 2, dir: 2, link: 1)", "(reg: two)")],
    ["a kind listed twice", STATS.replace("(reg: 2, dir: 2, link: 1)", "(reg: 2, reg: 2)")],
    ["no breakdown for a non-empty tree", STATS.replace(" (reg: 2, dir: 2, link: 1)", "")],
    ["more regular files than files", STATS.replace("(reg: 2, dir: 2, link: 1)", "(reg: 9)")],
    ["more files transferred than exist", STATS.replace("files transferred: 2", "files transferred: 3")],
  ])("refuses %s with a clear error, never a NaN", (_what, text) => {
    expect(() => parseRsyncStats(text)).toThrow(RsyncOutputError);
  });

  it("keeps a control character or a huge line out of its error message", () => {
    const error = (() => {
      try {
        parseRsyncStats(`\u001b[2J${"x".repeat(100_000)}`);
      } catch (e) {
        return e as Error;
      }
      throw new Error("no error");
    })();
    expect(error.message.length).toBeLessThan(600);
    expect(error.message).not.toContain("\u001b");
  });
});

describe("OutputTail", () => {
  it("keeps only whole lines of the end, however much streams by", () => {
    const tail = new OutputTail(1_000);
    for (let i = 0; i < 10_000; i++) tail.push(`skipping non-regular file "link-${i}"\n`);
    tail.push(STATS);
    const kept = tail.toString();
    expect(kept.length).toBeLessThanOrEqual(1_000);
    expect(kept.startsWith("skipping") || kept.startsWith("\n") || kept.startsWith("Number")).toBe(true);
    expect(parseRsyncStats(kept).bytesSent).toBe(1_234_567);
  });

  it("drops a line cut at the start, so its end cannot pass for a stats line", () => {
    const tail = new OutputTail(30);
    tail.push(`${"y".repeat(100)}Total bytes sent: 5\nabc\n`);
    expect(tail.toString()).toBe("abc\n");
  });
});

describe("ItemizedChanges", () => {
  it("counts itemized lines across chunk boundaries and keeps the first 20, cleaned", () => {
    const changes = new ItemizedChanges();
    const lines = [
      'skipping non-regular file "l"',
      ...Array.from({ length: 30 }, (_, i) => `>fc.t...... dir/file-${i}`),
      "*deleting   gone.txt",
      "cd+++++++++ new/",
      ".d..t...... ./",
      "rsync warning: some files vanished",
      ">f+++++++++ evil\u001b[2J",
    ];
    const text = `${lines.join("\n")}`;
    for (let i = 0; i < text.length; i += 7) changes.push(text.slice(i, i + 7));
    changes.end();
    expect(changes.count).toBe(34);
    expect(changes.first).toHaveLength(20);
    expect(changes.first[0]).toBe(">fc.t...... dir/file-0");
    const all = new ItemizedChanges();
    all.push(">f+++++++++ evil\u001b[2J\n");
    expect(all.first[0]).not.toContain("\u001b");
  });

  it("stays bounded on a line without end", () => {
    const changes = new ItemizedChanges();
    for (let i = 0; i < 1_000; i++) changes.push("z".repeat(10_000));
    changes.end();
    expect(changes.count).toBe(0);
  });
});

describe("the standby link's command lines", () => {
  const link: StandbyLink = {
    associationId: "sba-1f2e",
    gpu: { host: "127.0.0.1", port: 40022, user: "root" },
    gpuPrivateKey: "unused",
    standby: { host: "10.233.0.1", port: 21022, user: "root" },
    standbyHostKey: `${HOST_KEY} a comment`,
    syncPrivateKey: generateSshKeyPair("sync").privateKey,
  };

  it("pins the host key in known_hosts' own form (bare name on port 22)", () => {
    const [type, blob] = HOST_KEY.split(" ");
    expect(knownHostsLine(link.standby, HOST_KEY)).toBe(`[10.233.0.1]:21022 ${type} ${blob}`);
    expect(knownHostsLine({ ...link.standby, port: 22 }, `${HOST_KEY} c`)).toBe(`10.233.0.1 ${type} ${blob}`);
  });

  it("writes every exclude as an explicit rule: no include, no comment can sneak in", () => {
    expect(excludeFileText([".cache/", "+ secret", "#x", "*.tmp"])).toBe("- .cache/\n- + secret\n- #x\n- *.tmp\n");
    for (const bad of ["a\nb", "", "x".repeat(201), "a\rb", "a\u0000b"]) {
      expect(() => excludeFileText([bad])).toThrow(RangeError);
    }
  });

  it("refuses values that could become options or break a command line", () => {
    expect(checkedLink(link).standbyHostKey).toBe(HOST_KEY.split(" ").slice(0, 2).join(" "));
    const bad: Partial<StandbyLink>[] = [
      { associationId: "../etc" },
      { associationId: "A" },
      { associationId: "a b" },
      { standby: { ...link.standby, host: "-oProxyCommand=x" } },
      { standby: { ...link.standby, host: "a:b" } },
      { standby: { ...link.standby, host: "a b" } },
      { standby: { ...link.standby, port: 0 } },
      { standby: { ...link.standby, port: 1.5 } },
      { standby: { ...link.standby, user: "root;id" } },
      { gpu: { ...link.gpu, host: "" } },
      { standbyHostKey: "ssh-ed25519 notbase64!" },
      { standbyHostKey: `${HOST_KEY}\n${HOST_KEY}` },
      { standbyHostKey: link.syncPrivateKey },
      { syncPrivateKey: "ssh-ed25519 AAAA" },
    ];
    for (const change of bad)
      expect(() => checkedLink({ ...link, ...change }), JSON.stringify(change)).toThrow(RangeError);
  });

  it("quotes every argument of the rsync that runs on the GPU machine", () => {
    const line = rsyncCommandLine(link, "to-standby", ["--delete", "--stats"], 90_500);
    expect(line).toContain("timeout -k 10 91 rsync '--recursive'");
    expect(line).toContain("'--exclude-from=/root/.dumont/standby/sba-1f2e/excludes'");
    expect(line).toContain(
      "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/root/.dumont/standby/sba-1f2e/known_hosts",
    );
    expect(line.endsWith("'/workspace/' 'root@10.233.0.1:/workspace/'")).toBe(true);
    const pull = rsyncCommandLine(link, "from-standby", [], 1_000);
    expect(pull.endsWith("'root@10.233.0.1:/workspace/' '/workspace/'")).toBe(true);
  });

  it("turns a host key blob (as ssh2's hostVerifier sees it) into the pinned form", () => {
    const normalized = normalizeHostKey(HOST_KEY);
    const blob = Buffer.from(normalized.split(" ")[1] as string, "base64");
    expect(hostKeyFromBlob(blob)).toBe(normalized);
    expect(() => hostKeyFromBlob(Buffer.from([0, 0, 0, 200, 1]))).toThrow(RangeError);
  });
});

/**
 * The whole path for real: two GPU machines of the local market (bubblewrap sandboxes) and a
 * standby VM of its emulated GCP project, rented through GcpComputeProvider. rsync runs inside
 * the GPU sandbox and reaches the standby's SSH server at the market's bridge address, as a
 * real GPU machine reaches a real VM; nothing passes through this process but commands and stats.
 */
describe("standby sync between a GPU machine and its standby, for real", () => {
  let t: TestMarket;
  let gpuKey: string;
  let gpuA: SshEndpoint;
  let gpuB: SshEndpoint;
  let standby: SshEndpoint;
  let hostKey: string;
  const sync = generateSshKeyPair("dumont-standby-test");
  const excludes = [".cache/", "__pycache__/", "*.pyc", "node_modules/"];
  const options = { excludes, timeoutMs: 120_000 };
  const linkTo = (gpu: SshEndpoint, pinned = hostKey) => ({
    associationId: "sba-test-1",
    gpu,
    gpuPrivateKey: gpuKey,
    standby,
    standbyHostKey: pinned,
    syncPrivateKey: sync.privateKey,
  });
  const on = async (endpoint: SshEndpoint, command: string, privateKey = gpuKey) => {
    const result = await sshExec({ endpoint, privateKey, command, timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new Error(`${command} → ${result.exitCode}: ${result.stderr.slice(0, 500)}`);
    return result.stdout;
  };
  // Content hashes of every regular file, by path: the same on both sides means byte-identical.
  const hashes = async (endpoint: SshEndpoint, privateKey = gpuKey) =>
    (
      await on(
        endpoint,
        "cd /workspace && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum",
        privateKey,
      )
    )
      .split("\n")
      .filter(Boolean);
  const onStandby = (command: string) => on(standby, command, sync.privateKey);
  const isExcluded = (line: string) =>
    / \.\/(\.cache|node_modules)\//.test(line) || /\/__pycache__\//.test(line) || /\.pyc$/.test(line);

  beforeAll(async () => {
    t = await startTestMarket();
    const key = await generateKey(t.dir);
    gpuKey = readFileSync(key.privateKeyPath, "utf8");
    // One after the other: both would pick the same cheapest offer.
    const a = await runningInstance(t, key);
    const b = await runningInstance(t, key);
    gpuA = { host: a.host, port: a.port, user: "root" };
    gpuB = { host: b.host, port: b.port, user: "root" };
    const provider = new GcpComputeProvider({
      credentialsJson: t.market.gcp.serviceAccountJson,
      computeUrl: t.market.gcp.computeUrl,
      simulated: true,
      operationPollMs: 100,
    });
    await provider.createMachine({
      name: "dumont-sba-test-1",
      zone: "us-central1-a",
      machineType: "e2-micro",
      diskGb: 10,
      spot: false,
      labels: { "dumont-installation": "test", "dumont-resource": "sba-test-1" },
      sshPublicKeys: [sync.publicKey],
    });
    const machine = await waitFor<StandbyMachine>(
      "the standby VM to run",
      async () => {
        const found = await provider.getMachine("us-central1-a", "dumont-sba-test-1");
        return found?.state === "running" && found.ssh ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    standby = machine.ssh as SshEndpoint;
    hostKey = await readHostKey(standby);
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it("installs the association's key and pinned host key on the GPU machine, idempotently", async () => {
    await installSyncKey(linkTo(gpuA));
    await installSyncKey(linkTo(gpuA));
    const modes = await on(
      gpuA,
      "cd /root/.dumont/standby && stat -c '%a %n' . sba-test-1 sba-test-1/key sba-test-1/known_hosts",
    );
    expect(modes.trim().split("\n")).toEqual([
      "700 .",
      "700 sba-test-1",
      "600 sba-test-1/key",
      "600 sba-test-1/known_hosts",
    ]);
    expect((await on(gpuA, "cat /root/.dumont/standby/sba-test-1/known_hosts")).trim()).toBe(
      `[${standby.host}]:${standby.port} ${hostKey}`,
    );
  });

  it("mirrors /workspace byte for byte, without excluded files or links; a second sync sends only what changed", async () => {
    await on(
      gpuA,
      [
        "cd /workspace",
        "mkdir -p src/nested/deeper .cache/hf node_modules/pkg src/__pycache__",
        "echo 'print(1)' > src/train.py",
        "echo deep > src/nested/deeper/notes.txt",
        "printf 'with space' > 'src/nested/a file'",
        "head -c 20000000 /dev/urandom > model.bin",
        "head -c 1000 /dev/urandom > .cache/hf/weights",
        "echo x > node_modules/pkg/index.js",
        "echo y > src/__pycache__/train.cpython-311.pyc",
        "echo z > src/old.pyc",
        "ln -s /etc/passwd src/link-to-passwd",
      ].join(" && "),
    );
    const first = await syncToStandby(linkTo(gpuA), { ...options, standbyHasFiles: false });
    console.log(`first sync (20 MB + 3 small files): ${first.durationMs} ms, ${first.bytesSent} bytes`);
    expect(first).toMatchObject({ filesTransferred: 4, filesTotal: 4 });
    expect(first.bytesSent).toBeGreaterThan(20_000_000);
    const source = (await hashes(gpuA)).filter((line) => !isExcluded(line));
    expect(source).toHaveLength(4);
    expect(await hashes(standby, sync.privateKey)).toEqual(source);
    expect(
      (
        await onStandby("cd /workspace && find . -type l -o -name .cache -o -name node_modules -o -name '*.pyc'")
      ).trim(),
    ).toBe("");
    expect(await countStandbyFiles(standby, sync.privateKey, hostKey)).toBe(4);

    await on(gpuA, "echo 'print(2)' > /workspace/src/train.py");
    const second = await syncToStandby(linkTo(gpuA), { ...options, standbyHasFiles: true });
    console.log(`second sync (1 small file changed of 20 MB): ${second.durationMs} ms, ${second.bytesSent} bytes`);
    expect(second).toMatchObject({ filesTransferred: 1, filesTotal: 4 });
    expect(second.bytesSent).toBeLessThan(100_000);
    expect((await onStandby("cat /workspace/src/train.py")).trim()).toBe("print(2)");

    // --delete: a file removed on the GPU goes on the standby too.
    await on(gpuA, "rm /workspace/src/nested/deeper/notes.txt");
    await syncToStandby(linkTo(gpuA), { ...options, standbyHasFiles: true });
    expect(await countStandbyFiles(standby, sync.privateKey, hostKey)).toBe(3);
    await on(gpuA, "echo deep > /workspace/src/nested/deeper/notes.txt");
    await syncToStandby(linkTo(gpuA), { ...options, standbyHasFiles: true });
  });

  it("says clearly when the GPU machine has no key for the association, and stops when aborted", async () => {
    const unknown = { ...linkTo(gpuA), associationId: "sba-never-installed" };
    await expect(restoreFromStandby(unknown, options)).rejects.toThrow(/has no key for standby association/);
    const started = Date.now();
    await expect(
      syncToStandby(linkTo(gpuA), { ...options, standbyHasFiles: true, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: "MACHINE_UNREACHABLE" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses to mirror an emptied workspace over a standby that has files, and runs nothing", async () => {
    const before = await hashes(standby, sync.privateKey);
    // What a vanished disk looks like; directories without files count as empty too.
    await on(gpuA, "rm -rf /workspace/* /workspace/.[!.]* && mkdir -p /workspace/empty/dir");
    const error = await syncToStandby(linkTo(gpuA), { ...options, standbyHasFiles: true }).catch((e: unknown) => e);
    expect(isDumontError(error) && error.code).toBe("SYNC_REFUSED");
    expect(String(error)).toContain("holds no file");
    expect(await hashes(standby, sync.privateKey)).toEqual(before);
    // A first sync of an empty workspace is allowed (nothing to protect yet) — not run here: it would empty the standby.
  });

  it("restores the standby's copy onto a new GPU machine, and verifies it by content", async () => {
    const expected = await hashes(standby, sync.privateKey);
    await installSyncKey(linkTo(gpuB));
    await on(
      gpuB,
      "mkdir -p /workspace/.cache && echo keep > /workspace/.cache/x && echo stray > /workspace/stray.txt",
    );
    const restored = await restoreFromStandby(linkTo(gpuB), options);
    console.log(`restore (20 MB + 3 small files): ${restored.durationMs} ms, ${restored.bytesSent} bytes`);
    expect(restored).toMatchObject({ filesTransferred: 4, filesTotal: 4 });
    // The stray file is gone (--delete); the excluded cache is left alone.
    expect((await hashes(gpuB)).filter((line) => !isExcluded(line))).toEqual(expected);
    expect((await on(gpuB, "cat /workspace/.cache/x")).trim()).toBe("keep");
    expect(await verifyRestore(linkTo(gpuB), options)).toEqual({
      identical: true,
      differenceCount: 0,
      differences: [],
    });

    // Same size and time, other content: only --checksum sees it.
    await on(
      gpuB,
      "cd /workspace && t=$(stat -c %Y model.bin) && printf 'X' | dd of=model.bin bs=1 seek=5 conv=notrunc 2>/dev/null && touch -d @$t model.bin",
    );
    const verdict = await verifyRestore(linkTo(gpuB), options);
    expect(verdict).toMatchObject({ identical: false, differenceCount: 1 });
    expect(verdict.differences[0]).toMatch(/^>fc\S* model\.bin$/);
  });

  it("copies nothing to a standby whose host key is not the pinned one", async () => {
    const impostor = generateSshKeyPair("impostor").publicKey;
    await on(gpuA, "echo after > /workspace/after.txt");
    await installSyncKey(linkTo(gpuA, impostor));
    const before = await hashes(standby, sync.privateKey);
    const error = await syncToStandby(linkTo(gpuA, impostor), { ...options, standbyHasFiles: true }).catch(
      (e: unknown) => e,
    );
    expect(isDumontError(error) && error.code).toBe("MACHINE_UNREACHABLE");
    expect(String(error)).toContain("Host key verification failed");
    // rsync exits 12 or 255 depending on when it notices ssh is gone; ssh's own words say why.
    expect([12, 255]).toContain(isDumontError(error) ? error.details.exit_code : undefined);
    expect(await hashes(standby, sync.privateKey)).toEqual(before);
    // The control plane's own connection checks the pin too.
    await expect(countStandbyFiles(standby, sync.privateKey, impostor)).rejects.toMatchObject({
      code: "MACHINE_UNREACHABLE",
    });
    await installSyncKey(linkTo(gpuA));
  });
});

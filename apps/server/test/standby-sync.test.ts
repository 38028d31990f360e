import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateSshKeyPair } from "@dumont/providers";
import { tempDir } from "@dumont/testing";
import { ItemizedChanges, OutputTail, parseRsyncStats, RsyncOutputError } from "../src/transfer/rsync-stats";
import { normalizeHostKey, hostKeyFromBlob } from "../src/transfer/standby-host-key";
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

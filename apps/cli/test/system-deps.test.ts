import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "@dumont/testing";

const SCRIPT = resolve(import.meta.dirname, "../../../tools/system-deps.sh");

/**
 * The one set-up script behind `npm start`, `npm test` and CI, run against stand-ins for dpkg,
 * id and apt-get on PATH (so no package is really removed or installed): it must install what is
 * missing as root, and stop with the exact command to run otherwise.
 */
describe("tools/system-deps.sh", () => {
  const fakeSystem = (options: { uid: number; missing: string[] }) => {
    const bin = tempDir("fake-system-");
    const write = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    const missing = options.missing.map((p) => `"$3" = "${p}"`).join(" -o ");
    write("dpkg", "exit 0");
    write(
      "dpkg-query",
      options.missing.length > 0
        ? `if [ ${missing} ]; then exit 1; fi; printf 'install ok installed'`
        : "printf 'install ok installed'",
    );
    write("id", `echo ${options.uid}`);
    write("apt-get", `echo "$@" >> ${join(bin, "apt.log")}`);
    return { bin, aptLog: join(bin, "apt.log") };
  };
  const run = (bin: string) =>
    spawnSync("bash", [SCRIPT], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
      encoding: "utf8",
    });

  it("does nothing when every package is there", () => {
    const { bin } = fakeSystem({ uid: 0, missing: [] });
    const result = run(bin);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe("");
  });

  it("as root, installs exactly what is missing", () => {
    const { bin, aptLog } = fakeSystem({ uid: 0, missing: ["bubblewrap", "openssh-sftp-server"] });
    const result = run(bin);
    expect(result.status).toBe(0);
    const calls = readFileSync(aptLog, "utf8");
    expect(calls).toContain("update");
    expect(calls).toMatch(/install -y --no-install-recommends openssh-sftp-server bubblewrap/);
  });

  it("as another user, stops at once with the exact apt-get line", () => {
    const { bin } = fakeSystem({ uid: 1000, missing: ["rsync"] });
    const result = run(bin);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("missing system packages: rsync");
    expect(result.stderr).toContain("sudo apt-get update && sudo apt-get install -y --no-install-recommends rsync");
  });
});

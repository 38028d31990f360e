import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  generateKey,
  readGreeting,
  rsyncShell,
  run,
  runningInstance,
  ssh,
  sshOptions,
  startTestMarket,
  waitFor,
  type KeyPair,
  type TestMarket,
} from "./helpers";

// One running instance, driven with the system's ssh, rsync and scp.
describe("a running instance over real SSH", () => {
  let t: TestMarket;
  let key: KeyPair;
  let endpoint: { host: string; port: number };
  let id: number;

  beforeAll(async () => {
    t = await startTestMarket({ seed: 11 });
    key = await generateKey(t.dir);
    const rented = await runningInstance(t, key, {
      label: "ssh-suite",
      env: { MODEL_NAME: "llama3", "-p 8000:8000": "1" },
      onstart: "echo booted > /workspace/onstart-ran",
    });
    ({ id } = rented);
    endpoint = { host: rented.host, port: rented.port };
  });
  afterAll(async () => {
    await t.close();
  });

  it("runs commands with their stdout, stderr, exit code and stdin", async () => {
    const ok = await ssh(endpoint, key, "echo out; echo err >&2; exit 3");
    expect(ok).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    const piped = await ssh(endpoint, key, "wc -c; tr a-z A-Z", "hello sandbox\n");
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe("14\n");
    const upper = await ssh(endpoint, key, "tr a-z A-Z", "hello sandbox\n");
    expect(upper.stdout).toBe("HELLO SANDBOX\n");
    const where = await ssh(endpoint, key, "pwd; echo $HOME; whoami");
    expect(where.stdout).toBe("/workspace\n/root\nroot\n");
  });

  it("exports Vast's variables and the create's env, and ran onstart", async () => {
    const env = await ssh(endpoint, key, "env");
    const vars: Record<string, string> = Object.fromEntries(
      env.stdout
        .trim()
        .split("\n")
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    expect(vars).toMatchObject({
      CONTAINER_ID: String(id),
      VAST_CONTAINERLABEL: `C.${id}`,
      GPU_COUNT: "1",
      PUBLIC_IPADDR: "127.0.0.1",
      MODEL_NAME: "llama3",
    });
    // A `-p` port is published on the market's host at a port of its own, as Docker does on Vast.
    expect(vars.VAST_TCP_PORT_8000).toMatch(/^\d+$/);
    expect(vars.VAST_TCP_PORT_8000).not.toBe("8000");
    expect(vars["-p 8000:8000"]).toBeUndefined();
    expect((vars.PATH ?? "").split(":")[0]).toBe("/root/.dumont-sim/bin");
    expect((await ssh(endpoint, key, "cat /workspace/onstart-ran")).stdout).toBe("booted\n");
    // An `env` request from the client (SendEnv / SetEnv) reaches the command.
    const sent = await run("ssh", [
      ...sshOptions(endpoint.port, key),
      "-o",
      "SetEnv=FROM_CLIENT=yes",
      `root@${endpoint.host}`,
      "echo $FROM_CLIENT",
    ]);
    expect(sent.stdout).toBe("yes\n");
  });

  it("publishes a -p port on the host, forwarding to the service in the machine", async () => {
    const hostPort = Number((await ssh(endpoint, key, "echo $VAST_TCP_PORT_8000")).stdout.trim());
    await ssh(
      endpoint,
      key,
      `nohup python3 -c 'import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8000)); s.listen()
while True: c, _ = s.accept(); c.sendall(b"inside-8000\\n"); c.close()' >/dev/null 2>&1 &`,
    );
    const greeting = await waitFor("the forwarded port to answer", async () => {
      const text = await readGreeting("127.0.0.1", hostPort);
      return text === "inside-8000\n" ? text : undefined;
    });
    expect(greeting).toBe("inside-8000\n");
  });

  it("sees only its own processes and its own /workspace", async () => {
    const ps = await ssh(endpoint, key, "ps -e -o pid=,comm=");
    const lines = ps.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim());
    expect(lines[0]).toMatch(/^1 /);
    expect(lines.length).toBeLessThan(10);
    await ssh(endpoint, key, "echo mine > /workspace/marker");
    const hostSide = join(t.dir, "data", "instances", String(id), "workspace", "marker");
    expect(await readFile(hostSide, "utf8")).toBe("mine\n");
    // The host's /workspace is only a mount point: nothing the sandbox writes lands there.
    expect(await readdir("/workspace").catch(() => [])).not.toContain("marker");
  });

  it("rsyncs a directory to and from the instance byte for byte", async () => {
    const source = join(t.dir, "src-tree");
    await mkdir(join(source, "nested", "deeper"), { recursive: true });
    await writeFile(join(source, "small.txt"), "hello\n");
    await writeFile(join(source, "nested", "blob.bin"), randomBytes(3 * 1024 * 1024 + 17));
    await writeFile(join(source, "nested", "deeper", "empty"), "");
    await writeFile(join(source, "with space.txt"), "spaces ok\n");

    const up = await run(
      "rsync",
      ["-az", "-e", rsyncShell(endpoint.port, key), `${source}/`, `root@${endpoint.host}:/workspace/tree/`],
      {
        timeoutMs: 60_000,
      },
    );
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    const remote = await ssh(endpoint, key, "cd /workspace/tree && find . -type f | sort && sha256sum nested/blob.bin");
    expect(remote.stdout).toContain("./nested/blob.bin");
    expect(remote.stdout).toContain("./with space.txt");

    const back = join(t.dir, "back-tree");
    const down = await run(
      "rsync",
      ["-az", "-e", rsyncShell(endpoint.port, key), `root@${endpoint.host}:/workspace/tree/`, `${back}/`],
      {
        timeoutMs: 60_000,
      },
    );
    expect(down.code, down.stderr).toBe(0);
    expect(await snapshot(back)).toEqual(await snapshot(source));
  });

  it("copies files with scp (SFTP) both ways", async () => {
    const local = join(t.dir, "scp-up.bin");
    const content = randomBytes(256 * 1024);
    await writeFile(local, content);
    const up = await run("scp", [
      ...scpOptions(endpoint.port, key),
      local,
      `root@${endpoint.host}:/workspace/scp-up.bin`,
    ]);
    expect(up.code, up.stderr).toBe(0);
    const back = join(t.dir, "scp-down.bin");
    const down = await run("scp", [
      ...scpOptions(endpoint.port, key),
      `root@${endpoint.host}:/workspace/scp-up.bin`,
      back,
    ]);
    expect(down.code, down.stderr).toBe(0);
    expect((await readFile(back)).equals(content)).toBe(true);
    // Legacy scp protocol (-O) goes through exec instead of the sftp subsystem.
    const legacy = await run("scp", [
      "-O",
      ...scpOptions(endpoint.port, key),
      local,
      `root@${endpoint.host}:scp-legacy.bin`,
    ]);
    expect(legacy.code, legacy.stderr).toBe(0);
    expect((await ssh(endpoint, key, "cmp /workspace/scp-up.bin /workspace/scp-legacy.bin && echo same")).stdout).toBe(
      "same\n",
    );
  });

  it("serves an interactive shell without a terminal", async () => {
    const shell = await run("ssh", [...sshOptions(endpoint.port, key), "-T", `root@${endpoint.host}`], {
      input: "echo from-shell $((6 * 7))\nexit 5\n",
    });
    expect(shell.stdout).toContain("from-shell 42");
    expect(shell.code).toBe(5);
  });

  it("gives a terminal when one is requested (ssh -tt)", async () => {
    const withTty = await run(
      "ssh",
      [...sshOptions(endpoint.port, key), "-tt", `root@${endpoint.host}`, "tty; echo $TERM; exit 4"],
      {
        input: "",
      },
    );
    expect(withTty.stdout).toMatch(/^\/dev\/pts\/\d+\r?\n/);
    expect(withTty.code).toBe(4);
  });

  it("has an nvidia-smi that reports the GPU and the utilisation set through /sim", async () => {
    const list = await ssh(endpoint, key, "nvidia-smi -L");
    expect(list.stdout).toMatch(/^GPU 0: .+ \(UUID: GPU-[0-9a-f-]+\)\n$/);
    const instance = (await t.call("GET", `/api/v0/instances/${id}/`)).body.instances;
    const query =
      "nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu,temperature.gpu --format=csv,noheader,nounits";
    const idle = (await ssh(endpoint, key, query)).stdout.trim().split(", ");
    expect(idle[0]).toContain(String(instance.gpu_name).replace(/ SXM.*| PCIE/, ""));
    expect(Number(idle[1])).toBe(instance.gpu_ram);
    expect(idle[3]).toBe("0");

    const set = await t.call("PUT", `/sim/instances/${id}/gpu`, { utilization: 87 });
    expect(set.status).toBe(200);
    const busy = (await ssh(endpoint, key, query)).stdout.trim().split(", ");
    expect(busy[3]).toBe("87");
    expect(Number(busy[2])).toBeGreaterThan(1);
    expect(Number(busy[4])).toBeGreaterThan(Number(idle[4]));
    expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances.gpu_util).toBe(87);
    const withHeader = await ssh(endpoint, key, "nvidia-smi --query-gpu=utilization.gpu,memory.total --format=csv");
    expect(withHeader.stdout).toMatch(/^utilization\.gpu \[%\], memory\.total \[MiB\]\n87 %, \d+ MiB\n$/);
    const table = await ssh(endpoint, key, "nvidia-smi");
    expect(table.stdout).toContain("NVIDIA-SMI");
    expect(table.stdout).toContain("87%");
  });

  it("has an ollama stand-in that pulls and lists models", async () => {
    expect((await ssh(endpoint, key, "ollama --version")).stdout).toMatch(/^ollama version is \d/);
    const pull = await ssh(endpoint, key, "ollama pull llama3.2:1b");
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain("pulling manifest");
    expect(pull.stdout).toMatch(/pulling [0-9a-f]{12}\.\.\. 100%/);
    expect(pull.stdout.trim().endsWith("success")).toBe(true);
    const list = await ssh(endpoint, key, "ollama list");
    expect(list.stdout).toMatch(/^NAME\s+ID\s+SIZE\s+MODIFIED\n/);
    expect(list.stdout).toContain("llama3.2:1b");
  });

  it("accepts only authorised keys, including one attached later", async () => {
    const stranger = await generateKey(t.dir, "stranger");
    const refused = await ssh(endpoint, stranger, "true");
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied/);
    const attached = await t.call("POST", `/api/v0/instances/${id}/ssh/`, { ssh_key: stranger.publicKey });
    expect(attached.body.success).toBe(true);
    expect((await ssh(endpoint, stranger, "echo let-in")).stdout).toBe("let-in\n");
    const wrongUser = await run("ssh", [...sshOptions(endpoint.port, key), `ubuntu@${endpoint.host}`, "true"]);
    expect(wrongUser.code).toBe(255);
  });
});

function scpOptions(port: number, key: KeyPair): string[] {
  // scp spells the port -P; everything else is as for ssh.
  return sshOptions(port, key).map((option) => (option === "-p" ? "-P" : option));
}

/** Every file under `root` with its bytes, keyed by relative path. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir)) {
      const path = join(dir, entry);
      if ((await stat(path)).isDirectory()) await walk(path);
      else out[relative(root, path)] = (await readFile(path)).toString("base64");
    }
  };
  await walk(root);
  return out;
}

/** The first line a TCP server sends, or undefined when nothing answers. */

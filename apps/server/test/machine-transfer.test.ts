import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { join } from "node:path";
import { sshExec, type SshEndpoint } from "@dumont/providers";
import { tempDir } from "@dumont/testing";
import { MachineTransfer, TransferLimitExceeded } from "../src/transfer/machine-transfer";
import { ResourceStore } from "../src/transfer/resource-store";
import { generateKey, runningInstance, startTestMarket, type TestMarket } from "../../marketplace/test/helpers";

/** The transfer module against a real machine of the simulated market, over real SSH and rsync. */
describe("MachineTransfer", () => {
  let t: TestMarket;
  let endpoint: SshEndpoint;
  let privateKey: string;
  const limits = { maxBytes: 10 * 1024 * 1024, maxEntries: 1000, minFreeBytes: 0 };

  beforeAll(async () => {
    t = await startTestMarket();
    const key = await generateKey(t.dir);
    const machine = await runningInstance(t, key);
    endpoint = { host: machine.host, port: machine.port, user: "root" };
    privateKey = readFileSync(key.privateKeyPath, "utf8");
  });
  afterAll(async () => {
    await t.close();
  });

  const onMachine = async (command: string) => {
    const result = await sshExec({ endpoint, privateKey, command });
    if (result.exitCode !== 0) throw new Error(`${command}: ${result.stderr}`);
  };

  it("retries a copy whose first connections fail (an SSH drop) and completes it", async () => {
    await onMachine("mkdir -p /workspace/out && head -c 200000 /dev/urandom > /workspace/out/data.bin");
    // A port that refuses connections at first, then forwards to the machine: a real network hop
    // that comes back, standing in for a connection dropped mid-collection.
    const port = await freePort();
    let proxy: Server | undefined;
    const opened = setTimeout(() => {
      proxy = createServer((socket) => {
        const upstream = connect(endpoint.port, endpoint.host);
        socket.pipe(upstream).pipe(socket);
        socket.on("error", () => upstream.destroy());
        upstream.on("error", () => socket.destroy());
      }).listen(port, "127.0.0.1");
    }, 700);
    try {
      const store = new ResourceStore(tempDir(), "job_retry");
      const transfer = new MachineTransfer({ ...endpoint, port }, privateKey);
      const result = await transfer.pull(store, "outputs", ["/workspace/out"], { limits, retries: 4 });
      // workspace/, workspace/out/ and the file.
      expect(result).toMatchObject({ entries: 3, bytes: 200_000, missing: [] });
      expect(readFileSync(join(store.areaDir("outputs"), "workspace/out/data.bin")).length).toBe(200_000);
    } finally {
      clearTimeout(opened);
      proxy?.close();
    }
  });

  it("stops a copy of too many files while it runs (the machine's own count is not asked for files) and keeps none", async () => {
    await onMachine("mkdir -p /workspace/many && cd /workspace/many && seq 1 3000 | xargs touch");
    const store = new ResourceStore(tempDir(), "job_many");
    const transfer = new MachineTransfer(endpoint, privateKey);
    await expect(
      transfer.pull(store, "outputs", ["/workspace/many"], { limits: { ...limits, maxEntries: 100 } }),
    ).rejects.toBeInstanceOf(TransferLimitExceeded);
    expect(store.usage("outputs")).toEqual({ bytes: 0, entries: 0 });
  });

  it("counts directories too: a tree of empty directories is stopped like a pile of files", async () => {
    await onMachine("mkdir -p /workspace/dirs && cd /workspace/dirs && seq 1 2000 | xargs mkdir");
    const store = new ResourceStore(tempDir(), "job_dirs");
    const transfer = new MachineTransfer(endpoint, privateKey);
    await expect(
      transfer.pull(store, "outputs", ["/workspace/dirs"], { limits: { ...limits, maxEntries: 100 } }),
    ).rejects.toBeInstanceOf(TransferLimitExceeded);
    expect(store.usage("outputs")).toEqual({ bytes: 0, entries: 0 });
  });

  it("stops a copy when the control plane's disk runs low, whatever the job's own limits", async () => {
    const store = new ResourceStore(tempDir(), "job_disk");
    const transfer = new MachineTransfer(endpoint, privateKey);
    const error = await transfer
      .pull(store, "outputs", ["/workspace/out"], { limits: { ...limits, minFreeBytes: Number.MAX_SAFE_INTEGER } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferLimitExceeded);
    expect(String(error)).toContain("disk is down to");
  });

  it("refuses remote paths outside /workspace before touching the machine", async () => {
    const store = new ResourceStore(tempDir(), "job_paths");
    const transfer = new MachineTransfer(endpoint, privateKey);
    for (const path of ["/etc", "/workspace/../etc", "relative", "/workspace/a\nb"]) {
      await expect(transfer.pull(store, "outputs", [path], { limits })).rejects.toThrow(RangeError);
    }
    expect(() => new ResourceStore(tempDir(), "../../etc")).toThrow(RangeError);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  return typeof address === "object" && address ? address.port : 0;
}

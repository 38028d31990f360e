import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { generateSshKeyPair } from "@dumont/providers";
import {
  bearer,
  registerAccount,
  startInProcessServer,
  tempDir,
  type Account,
  type InProcessServer,
} from "@dumont/testing";

interface InstanceBody {
  id: string;
  status: string;
  ssh_host: string | null;
  ssh_port: number | null;
  error: string | null;
}

interface KeyOnMachines {
  updated: string[];
  not_updated: { instance_id: string; reason: string }[];
}

/** The system's OpenSSH client with one key only (no agent, no ~/.ssh), as a user would run it. */
function systemSsh(privateKeyFile: string, host: string, port: number, command: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      "ssh",
      [
        "-F",
        "/dev/null",
        "-i",
        privateKeyFile,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-p",
        String(port),
        `root@${host}`,
        command,
      ],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A key registered after renting opens the machine at once (attached over the marketplace's API,
 * not only at create), keeps opening it after pause and resume, and stops once removed. Another
 * user's key never reaches it.
 */
describe("SSH keys reach machines that already exist", () => {
  let server: InProcessServer;
  let alice: Account;
  let bob: Account;
  const keyDir = tempDir("ssh-key-attach-");

  beforeAll(async () => {
    server = await startInProcessServer({
      env: { DUMONT_MARKET: "embedded", DUMONT_MARKET_TIME_SCALE: "0.02", DUMONT_INSTANCE_POLL_MS: "200" },
    });
    alice = await registerAccount(server.app, "alice");
    bob = await registerAccount(server.app, "bob");
  });
  afterAll(async () => {
    await server.close();
  });

  const call = (account: Account, method: "GET" | "POST" | "DELETE", url: string, payload?: object) =>
    server.app.inject({ method, url, headers: bearer(account.token), ...(payload ? { payload } : {}) });
  const waitFor = async (id: string, status: string): Promise<InstanceBody> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = (await call(alice, "GET", `/api/v1/instances/${id}`)).json<InstanceBody>();
      if (body.status === status) return body;
      if (body.status === "failed" || Date.now() > deadline)
        throw new Error(`instance ${id} is ${body.status}: ${body.error ?? ""}`);
      await sleep(100);
    }
  };
  const keyFile = (name: string) => {
    const pair = generateSshKeyPair(name);
    const file = join(keyDir, name);
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    return { ...pair, file };
  };

  it("attaches a key added after renting, keeps it across pause and resume, and detaches it on remove", async () => {
    const { offers } = (await call(alice, "GET", "/api/v1/instances/offers?max_price=3&limit=5")).json<{
      offers: { id: string }[];
    }>();
    const created = await call(alice, "POST", "/api/v1/instances", { offer_id: offers[0]?.id ?? "", disk_size: 10 });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<InstanceBody>();
    let machine = await waitFor(id, "running");

    const late = keyFile("alice-late");
    const before = await systemSsh(late.file, machine.ssh_host ?? "", machine.ssh_port ?? 0, "true");
    expect(before.code).toBe(255); // refused: the key is not on the account yet

    const added = await call(alice, "POST", "/api/v1/ssh-keys", { name: "laptop", public_key: late.publicKey });
    expect(added.statusCode).toBe(201);
    const addedBody = added.json<{ id: string; machines: KeyOnMachines }>();
    expect(addedBody.machines).toEqual({ updated: [id], not_updated: [] });
    const inside = await systemSsh(late.file, machine.ssh_host ?? "", machine.ssh_port ?? 0, "echo in; exit 7");
    expect(inside).toMatchObject({ code: 7, stdout: "in\n" });

    // Bob's key stays off Alice's machine.
    const bobs = keyFile("bob-key");
    const bobAdded = await call(bob, "POST", "/api/v1/ssh-keys", { name: "bob", public_key: bobs.publicKey });
    expect(bobAdded.json<{ machines: KeyOnMachines }>().machines.updated).toEqual([]);
    expect((await systemSsh(bobs.file, machine.ssh_host ?? "", machine.ssh_port ?? 0, "true")).code).toBe(255);

    // Pause and resume: the port changes, the key still opens it.
    await call(alice, "POST", `/api/v1/instances/${id}/pause`);
    await waitFor(id, "paused");
    await call(alice, "POST", `/api/v1/instances/${id}/resume`);
    machine = await waitFor(id, "running");
    expect((await systemSsh(late.file, machine.ssh_host ?? "", machine.ssh_port ?? 0, "echo again")).stdout).toBe(
      "again\n",
    );

    const removed = await call(alice, "DELETE", `/api/v1/ssh-keys/${addedBody.id}`);
    expect(removed.statusCode).toBe(200);
    expect(removed.json<{ machines: KeyOnMachines; message: string }>()).toMatchObject({
      machines: { updated: [id], not_updated: [] },
      message: expect.stringContaining("detached from 1 machine") as unknown,
    });
    expect((await systemSsh(late.file, machine.ssh_host ?? "", machine.ssh_port ?? 0, "true")).code).toBe(255);

    await call(alice, "DELETE", `/api/v1/instances/${id}`);
    await waitFor(id, "destroyed");
  });
});

import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  generateSshKeyPair,
  readGpuMetrics,
  rsync,
  sshExec,
  type Machine,
  type MachineState,
  type OfferQuery,
  type Provider,
} from "@dumont/providers";
import type { SimControl } from "./sim-control";

export interface ContractTarget {
  provider: Provider;
  /** Fault injection; absent for real marketplaces (those tests are skipped with a reason). */
  sim?: SimControl;
  close(): Promise<void>;
}

export interface ContractOptions {
  name: string;
  create: () => Promise<ContractTarget>;
  /** Upper bound for a machine to boot (seconds of real time). */
  bootTimeoutMs: number;
}

const CHEAP: OfferQuery = { machineType: "on-demand", limit: 20, order: "price", maxPricePerHour: 5 };

/** Waits until the machine reaches one of `states` and returns it. */
export async function waitForState(
  provider: Provider,
  id: string,
  states: MachineState[],
  timeoutMs: number,
): Promise<Machine | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: Machine | undefined;
  while (Date.now() < deadline) {
    last = await provider.getMachine(id);
    if (last === undefined ? states.includes("gone") : states.includes(last.state)) return last;
    await sleep(200);
  }
  throw new Error(
    `machine ${id} did not reach ${states.join("|")} (last: ${last?.state ?? "gone"} ${last?.statusMessage ?? ""})`,
  );
}

/**
 * One behaviour suite every Provider implementation must pass: search, rent with a label, boot,
 * SSH, rsync both ways, stop/start keeping the disk, destroy (confirmed and idempotent), and the
 * failure classes a marketplace throws at us.
 */
export function runProviderContract(options: ContractOptions): void {
  describe(`provider contract: ${options.name}`, () => {
    let target: ContractTarget;
    const keys = generateSshKeyPair("contract-test");
    const created: string[] = [];

    beforeAll(async () => {
      target = await options.create();
    });
    afterAll(async () => {
      for (const id of created) await target.provider.destroyMachine(id).catch(() => undefined);
      await target.close();
    });

    const rent = async (query: OfferQuery = CHEAP, bid?: number) => {
      const [offer] = await target.provider.searchOffers(query);
      if (!offer) throw new Error("no offer to rent");
      const { machineId } = await target.provider.createMachine({
        offerId: offer.id,
        image: "vastai/base-image:@vastai-automatic-tag",
        diskGb: 10,
        label: `dumont:contract-${Date.now()}`,
        sshPublicKeys: [keys.publicKey],
        bidPricePerHour: bid,
      });
      created.push(machineId);
      return { offer, machineId };
    };

    it("searches offers and every returned offer satisfies the filters", async () => {
      const offers = await target.provider.searchOffers({
        machineType: "on-demand",
        limit: 10,
        order: "price",
        maxPricePerHour: 2,
        countries: ["US", "DE", "FR", "CA", "BR"],
        minReliability: 0.9,
      });
      expect(offers.length).toBeGreaterThan(0);
      for (const offer of offers) {
        expect(offer.pricePerHour).toBeLessThanOrEqual(2);
        expect(["US", "DE", "FR", "CA", "BR"]).toContain(offer.countryCode);
        expect(offer.reliability).toBeGreaterThanOrEqual(0.9);
        expect(offer.gpuRamGb).toBeGreaterThan(0);
      }
      const prices = offers.map((o) => o.pricePerHour);
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
    });

    it("rents with our label, boots, answers SSH, and copies files both ways with rsync", async () => {
      const { machineId } = await rent();
      const listed = await target.provider.listMachines("dumont:contract-");
      expect(listed.map((m) => m.id)).toContain(machineId);
      const machine = await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
      const ssh = machine?.ssh;
      if (!ssh) throw new Error("running machine without SSH endpoint");

      const echo = await sshExec({ endpoint: ssh, privateKey: keys.privateKey, command: "echo hello; exit 3" });
      expect(echo).toMatchObject({ exitCode: 3, stdout: "hello\n" });
      const pwd = await sshExec({ endpoint: ssh, privateKey: keys.privateKey, command: "cd /workspace && pwd" });
      expect(pwd.stdout.trim()).toBe("/workspace");

      const local = mkdtempSync(join(tmpdir(), "contract-rsync-"));
      mkdirSync(join(local, "src/nested"), { recursive: true });
      writeFileSync(join(local, "src/a.txt"), "alpha\n");
      writeFileSync(join(local, "src/nested/b.bin"), Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251)));
      await rsync({
        endpoint: ssh,
        privateKey: keys.privateKey,
        source: `${join(local, "src")}/`,
        destination: "/workspace/data/",
        direction: "push",
      });
      const remote = await sshExec({
        endpoint: ssh,
        privateKey: keys.privateKey,
        command: "cat /workspace/data/a.txt && wc -c < /workspace/data/nested/b.bin",
      });
      expect(remote.stdout).toBe("alpha\n70000\n");
      await rsync({
        endpoint: ssh,
        privateKey: keys.privateKey,
        source: "/workspace/data/",
        destination: `${join(local, "back")}/`,
        direction: "pull",
      });
      expect(readFileSync(join(local, "back/nested/b.bin"))).toEqual(readFileSync(join(local, "src/nested/b.bin")));

      if (target.provider.capabilities.supportsGpuMetrics) {
        const gpus = await readGpuMetrics(ssh, keys.privateKey);
        expect(gpus.length).toBeGreaterThan(0);
        // Real nvidia-smi says "NVIDIA GeForce RTX 4090" where the marketplace says "RTX 4090".
        expect(gpus[0]?.name).toContain(machine.gpuName);
      }

      // Stop keeps the disk; start brings the same files back.
      await target.provider.setRunning(machineId, false);
      await waitForState(target.provider, machineId, ["stopped"], options.bootTimeoutMs);
      const { queued } = await target.provider.setRunning(machineId, true);
      expect(queued).toBe(false);
      const again = await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
      const kept = await sshExec({
        endpoint: again?.ssh ?? ssh,
        privateKey: keys.privateKey,
        command: "cat /workspace/data/a.txt",
      });
      expect(kept.stdout).toBe("alpha\n");

      await target.provider.destroyMachine(machineId);
      expect(await target.provider.getMachine(machineId)).toBeUndefined();
      await target.provider.destroyMachine(machineId); // idempotent
    });

    it("a key attached after renting opens the running machine, and detached no longer does", async () => {
      if (!target.provider.capabilities.supportsSshKeyAttach) return;
      const { machineId } = await rent();
      const machine = await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
      const ssh = machine?.ssh;
      if (!ssh) throw new Error("running machine without SSH endpoint");
      const late = generateSshKeyPair("contract-late-key");
      await expect(sshExec({ endpoint: ssh, privateKey: late.privateKey, command: "true" })).rejects.toThrow();

      await target.provider.attachSshKey(machineId, late.publicKey);
      await target.provider.attachSshKey(machineId, late.publicKey); // idempotent
      const echo = await sshExec({ endpoint: ssh, privateKey: late.privateKey, command: "echo late" });
      expect(echo).toMatchObject({ exitCode: 0, stdout: "late\n" });

      // Matched by key, not by comment; the keys given at create are untouched.
      expect(
        await target.provider.detachSshKey(machineId, `${late.publicKey.split(" ").slice(0, 2).join(" ")} x`),
      ).toBe(true);
      expect(await target.provider.detachSshKey(machineId, late.publicKey)).toBe(false);
      await expect(sshExec({ endpoint: ssh, privateKey: late.privateKey, command: "true" })).rejects.toThrow();
      expect((await sshExec({ endpoint: ssh, privateKey: keys.privateKey, command: "echo still" })).stdout).toBe(
        "still\n",
      );
      await target.provider.destroyMachine(machineId);
    });

    it("stops renting an offer once its machine has no free GPUs left", async () => {
      // An offer is a slice of a machine; while GPUs remain free the same offer can be rented
      // again (as on Vast), so rent until the marketplace says it is unavailable.
      const [offer] = await target.provider.searchOffers({ ...CHEAP, numGpus: 1 });
      if (!offer) throw new Error("no offer");
      let refusal: unknown;
      for (let attempt = 0; attempt < 17 && refusal === undefined; attempt++) {
        try {
          const { machineId } = await target.provider.createMachine({
            offerId: offer.id,
            image: "vastai/base-image:@vastai-automatic-tag",
            diskGb: 10,
            label: "dumont:contract-exhaust",
            sshPublicKeys: [keys.publicKey],
          });
          created.push(machineId);
        } catch (error) {
          refusal = error;
        }
      }
      expect(refusal).toMatchObject({ code: "OFFER_UNAVAILABLE" });
    });

    it("reports the account balance", async () => {
      const balance = await target.provider.balance();
      expect(typeof balance.credit).toBe("number");
    });

    describe("failure classes (needs fault injection)", () => {
      const sim = () => {
        if (!target.sim) throw new Error("no fault injection on this target");
        return target.sim;
      };

      it("a boot failure surfaces as failed", async () => {
        if (!target.sim) return;
        const { machineId } = await rent();
        await sim().fault(machineId, "boot_failure");
        const machine = await waitForState(target.provider, machineId, ["failed"], options.bootTimeoutMs);
        expect(machine?.state).toBe("failed");
      });

      it("an outbid interruptible machine surfaces as outbid", async () => {
        if (!target.sim) return;
        const [offer] = await target.provider.searchOffers({ ...CHEAP, machineType: "interruptible" });
        const { machineId } = await rent({ ...CHEAP, machineType: "interruptible" }, (offer?.minBid ?? 0.05) * 1.5);
        await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
        await sim().fault(machineId, "outbid");
        expect((await waitForState(target.provider, machineId, ["outbid"], 10_000))?.state).toBe("outbid");
      });

      it("a lost host surfaces as offline", async () => {
        if (!target.sim) return;
        const { machineId } = await rent();
        await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
        await sim().fault(machineId, "host_offline");
        expect((await waitForState(target.provider, machineId, ["offline"], 10_000))?.state).toBe("offline");
      });

      it("a start while the GPU is taken is reported as queued", async () => {
        if (!target.sim) return;
        const { machineId } = await rent();
        await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
        await target.provider.setRunning(machineId, false);
        await waitForState(target.provider, machineId, ["stopped"], 10_000);
        await sim().fault(machineId, "gpu_taken");
        expect(await target.provider.setRunning(machineId, true)).toEqual({ queued: true });
        await target.provider.setRunning(machineId, false);
      });

      it("rides through 429s and 5xx with backoff", async () => {
        if (!target.sim) return;
        await sim().apiFaults(0.4, 0.1);
        try {
          for (let i = 0; i < 5; i++) expect((await target.provider.searchOffers(CHEAP)).length).toBeGreaterThan(0);
        } finally {
          await sim().apiFaults(0, 0);
        }
      });

      it("an SSH drop fails the command cleanly, and the next connection works", async () => {
        if (!target.sim) return;
        const { machineId } = await rent();
        const machine = await waitForState(target.provider, machineId, ["running"], options.bootTimeoutMs);
        const ssh = machine?.ssh;
        if (!ssh) throw new Error("no ssh");
        const long = sshExec({ endpoint: ssh, privateKey: keys.privateKey, command: "sleep 20" });
        await sleep(500);
        await sim().fault(machineId, "ssh_drop");
        await expect(long).rejects.toMatchObject({ code: "MACHINE_UNREACHABLE" });
        const next = await sshExec({ endpoint: ssh, privateKey: keys.privateKey, command: "echo back" });
        expect(next.stdout).toBe("back\n");
      });
    });
  });
}

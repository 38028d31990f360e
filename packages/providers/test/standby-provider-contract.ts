import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  generateSshKeyPair,
  sshExec,
  type StandbyMachine,
  type StandbyMachineRequest,
  type StandbyMachineState,
  type StandbyProvider,
} from "@dumont/providers";

export interface StandbyContractTarget {
  provider: StandbyProvider;
  /** Where machines are created. */
  zone: string;
  /** A cheap machine type the provider offers. */
  machineType: string;
  /** Upper bound for a create, stop or start to settle (real time). */
  settleTimeoutMs: number;
  /** The same account with a different private key: every call must fail as PROVIDER_AUTH_FAILED. */
  withForeignKey?: () => StandbyProvider;
  /** Makes the next create's operation fail with `code` (fault injection; absent for real clouds). */
  failNextCreate?: (code: string) => Promise<void>;
  close(): Promise<void>;
}

/** Waits until the machine is in one of `states` (undefined = gone) and returns it. */
async function waitForStandby(
  provider: StandbyProvider,
  machine: { zone: string; name: string },
  states: (StandbyMachineState | "gone")[],
  timeoutMs: number,
): Promise<StandbyMachine | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: StandbyMachine | undefined;
  for (;;) {
    last = await provider.getMachine(machine.zone, machine.name);
    if (last === undefined ? states.includes("gone") : states.includes(last.state)) return last;
    if (Date.now() >= deadline) break;
    await sleep(200);
  }
  throw new Error(`standby ${machine.name} did not reach ${states.join("|")} (last: ${last?.rawStatus ?? "gone"})`);
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

/**
 * One behaviour suite every StandbyProvider must pass: create with labels (idempotent by name),
 * boot, SSH as root with the given key, list by label, stop/start keeping the disk, destroy
 * (confirmed and idempotent), refused credentials, and a create whose operation fails.
 */
export function describeStandbyProviderContract(
  name: string,
  makeProvider: () => Promise<StandbyContractTarget>,
): void {
  describe(`standby provider contract: ${name}`, () => {
    let target: StandbyContractTarget;
    const keys = generateSshKeyPair("standby-contract");
    // One installation label per run, so machines of other runs sharing a project never count.
    const installation = `contract-${randomBytes(4).toString("hex")}`;
    const created: { zone: string; name: string }[] = [];

    beforeAll(async () => {
      target = await makeProvider();
    });
    afterAll(async () => {
      for (const machine of created) {
        await target.provider.destroyMachine(machine.zone, machine.name).catch(() => undefined);
      }
      await target.close();
    });

    const request = (suffix: string, overrides: Partial<StandbyMachineRequest> = {}): StandbyMachineRequest => {
      const machineName = `${installation}-${suffix}`;
      created.push({ zone: target.zone, name: machineName });
      return {
        name: machineName,
        zone: target.zone,
        machineType: target.machineType,
        diskGb: 10,
        spot: false,
        labels: { "dumont-installation": installation, "dumont-resource": suffix },
        sshPublicKeys: [keys.publicKey],
        ...overrides,
      };
    };

    it("creates a labelled machine that answers SSH as root, lists by label, stops and starts keeping its disk, and is destroyed", async () => {
      const { provider } = target;
      const spot = request("main", { spot: provider.capabilities.supportsSpot });
      await provider.createMachine(spot);
      const running = await waitForStandby(provider, spot, ["running"], target.settleTimeoutMs);
      expect(running).toMatchObject({
        name: spot.name,
        zone: target.zone,
        state: "running",
        machineType: target.machineType,
        spot: spot.spot,
        labels: expect.objectContaining(spot.labels),
      });
      const ssh = running?.ssh;
      if (!ssh) throw new Error("a running standby without an SSH endpoint");
      expect(ssh.user).toBe("root");
      const who = await sshExec({
        endpoint: ssh,
        privateKey: keys.privateKey,
        command: "id -u; echo kept > /root/dumont-contract.txt",
      });
      expect(who).toMatchObject({ exitCode: 0, stdout: "0\n" });

      // A create repeated after a crash finds the machine and resolves.
      await provider.createMachine(spot);

      const other = request("other");
      await provider.createMachine(other);
      const byResource = await provider.listMachines({ key: "dumont-resource", value: "main" });
      expect(
        byResource.filter((machine) => machine.labels["dumont-installation"] === installation).map((m) => m.name),
      ).toEqual([spot.name]);
      const byInstallation = await provider.listMachines({ key: "dumont-installation", value: installation });
      expect(byInstallation.map((machine) => machine.name).sort()).toEqual([spot.name, other.name].sort());
      expect(byInstallation.find((machine) => machine.name === spot.name)?.zone).toBe(target.zone);
      await provider.destroyMachine(other.zone, other.name);

      if (provider.capabilities.supportsStop) {
        await provider.setRunning(spot.zone, spot.name, false);
        expect((await waitForStandby(provider, spot, ["stopped"], target.settleTimeoutMs))?.state).toBe("stopped");
        await provider.setRunning(spot.zone, spot.name, true);
        const again = await waitForStandby(provider, spot, ["running"], target.settleTimeoutMs);
        const endpoint = again?.ssh;
        if (!endpoint) throw new Error("a restarted standby without an SSH endpoint");
        const kept = await sshExec({ endpoint, privateKey: keys.privateKey, command: "cat /root/dumont-contract.txt" });
        expect(kept.stdout).toBe("kept\n");
      }

      await provider.destroyMachine(spot.zone, spot.name);
      expect(await provider.getMachine(spot.zone, spot.name)).toBeUndefined();
      expect(await provider.listMachines({ key: "dumont-installation", value: installation })).toEqual([]);
      await provider.destroyMachine(spot.zone, spot.name); // idempotent
    });

    it("refuses credentials signed with a foreign key as PROVIDER_AUTH_FAILED", async () => {
      if (!target.withForeignKey) return;
      const foreign = target.withForeignKey();
      expect(await rejection(foreign.listMachines({ key: "dumont-installation", value: installation }))).toMatchObject({
        code: "PROVIDER_AUTH_FAILED",
      });
      expect(await rejection(foreign.getMachine(target.zone, `${installation}-main`))).toMatchObject({
        code: "PROVIDER_AUTH_FAILED",
      });
    });

    it("refuses an unknown machine type", async () => {
      const error = await rejection(
        target.provider.createMachine(request("badtype", { machineType: "e2-imaginary-64" })),
      );
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(await target.provider.getMachine(target.zone, `${installation}-badtype`)).toBeUndefined();
    });

    it("waits for the create's operation and rejects with its error code when it fails", async () => {
      if (!target.failNextCreate) return;
      await target.failNextCreate("ZONE_RESOURCE_POOL_EXHAUSTED");
      const failing = request("exhausted");
      const error = await rejection(target.provider.createMachine(failing));
      expect(error).toMatchObject({
        code: "PROVIDER_ERROR",
        message: expect.stringContaining("ZONE_RESOURCE_POOL_EXHAUSTED"),
      });
      await waitForStandby(target.provider, failing, ["gone"], target.settleTimeoutMs);
      // The fault was for one insert only: the next create works.
      const next = request("after");
      await target.provider.createMachine(next);
      expect(await target.provider.getMachine(next.zone, next.name)).toBeDefined();
      await target.provider.destroyMachine(next.zone, next.name);
    });
  });
}

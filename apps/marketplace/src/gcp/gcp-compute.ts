/**
 * @module The emulated project's Compute Engine: every VM of every zone, and the lifecycle that
 * turns API calls into real machines (the same bubblewrap sandbox and SSH server as a rented GPU
 * instance, without GPUs) on the market's simulated clock.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SimClock } from "../clock";
import { BubblewrapSandbox, SandboxError } from "../sandbox/bubblewrap-sandbox";
import { NetworkError, type SandboxNetwork } from "../sandbox/sandbox-network";
import { SYSTEM_PATH } from "../sandbox/bubblewrap-argv";
import { generateEd25519KeyPair } from "../ssh/host-key";
import { InstanceSshServer } from "../ssh/instance-ssh-server";
import type { GcpMachineType, GcpZone } from "./gcp-catalog";
import { alreadyExists, invalid, resourceNotReady } from "./gcp-errors";
import { decimalId, type GcpOperation, type GcpOperations, type OperationError } from "./gcp-operations";
import {
  assertVmPhaseChange,
  rootSshKeys,
  type AccessConfig,
  type GcpScheduling,
  type GcpVm,
  type GcpVmPhase,
  type MetadataItem,
} from "./gcp-vm";

/** Simulated time from insert (or start) to STAGING. */
const PROVISIONING_MS = 1_000;
/** Least simulated time in STAGING; RUNNING also waits for the sandbox and SSH to be up. */
const MIN_STAGING_MS = 1_500;
/** Least simulated time in STOPPING (the guest shutting down); TERMINATED also waits for the kill. */
const MIN_STOPPING_MS = 1_000;
/** Simulated time a delete takes before the VM is gone. */
const DELETING_MS = 1_000;
export const PREEMPTED_MESSAGE = "Instance was preempted.";

const SHELL = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

/** An insert after the HTTP layer validated it. */
export interface InsertRequest {
  name: string;
  zone: GcpZone;
  machineType: GcpMachineType;
  labels: Record<string, string>;
  metadataItems: MetadataItem[];
  scheduling: GcpScheduling;
  diskSizeGb: string;
  sourceImage: string;
  accessConfigs: AccessConfig[];
}

export interface GcpComputeOptions {
  clock: SimClock;
  /** VM disks live under `<dataDir>/gcp/<zone>/<name>/`. */
  dataDir: string;
  /** The market's machine network: each VM gets its own namespace on it, like a GPU instance. */
  network: SandboxNetwork;
  operations: GcpOperations;
  sftpServer: string | undefined;
  logger: Logger;
}

/** An operation waiting for its VM to reach a phase. */
interface Waiter {
  op: GcpOperation;
  target: "RUNNING" | "TERMINATED" | "DELETED";
}

export class GcpCompute {
  /** By `zone/name`. */
  private readonly vms = new Map<string, GcpVm>();
  private readonly waiters = new Map<GcpVm, Waiter[]>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly nextHost = new Map<string, number>();
  private pendingInsertError: OperationError | undefined;
  private closed = false;

  constructor(private readonly options: GcpComputeOptions) {}

  /** Where every VM's SSH server listens: the bridge address, reached by the host and every sandbox. */
  get sshAddress(): string {
    return this.options.network.hostAddress;
  }

  get(zone: string, name: string): GcpVm | undefined {
    return this.vms.get(`${zone}/${name}`);
  }

  all(): GcpVm[] {
    return [...this.vms.values()];
  }

  insert(request: InsertRequest): GcpOperation {
    if (this.get(request.zone.name, request.name))
      throw alreadyExists(`projects/dumont-sim/zones/${request.zone.name}/instances/${request.name}`);
    const vm = this.newVm(request);
    this.vms.set(`${vm.zone.name}/${vm.name}`, vm);
    vm.insertError = this.pendingInsertError;
    this.pendingInsertError = undefined;
    const op = this.operation(vm, "insert", "RUNNING");
    this.provision(vm);
    return op;
  }

  stop(vm: GcpVm): GcpOperation {
    switch (vm.phase) {
      case "PROVISIONING":
      case "STAGING":
      case "RUNNING": {
        const op = this.operation(vm, "stop", "TERMINATED");
        this.beginStopping(vm, undefined);
        this.options.operations.markRunning(op);
        return op;
      }
      case "STOPPING":
        return this.operation(vm, "stop", "TERMINATED");
      case "TERMINATED": {
        const op = this.operation(vm, "stop", "TERMINATED");
        this.options.operations.finish(op);
        return op;
      }
      case "DELETING":
      case "DELETED":
        throw resourceNotReady(resourcePath(vm));
    }
  }

  start(vm: GcpVm): GcpOperation {
    switch (vm.phase) {
      case "TERMINATED": {
        const op = this.operation(vm, "start", "RUNNING");
        this.setPhase(vm, "PROVISIONING", undefined);
        this.provision(vm);
        return op;
      }
      case "PROVISIONING":
      case "STAGING":
        return this.operation(vm, "start", "RUNNING");
      case "RUNNING": {
        const op = this.operation(vm, "start", "RUNNING");
        this.options.operations.finish(op);
        return op;
      }
      case "STOPPING":
      case "DELETING":
      case "DELETED":
        throw resourceNotReady(resourcePath(vm));
    }
  }

  delete(vm: GcpVm): GcpOperation {
    const op = this.operation(vm, "delete", "DELETED");
    if (vm.phase !== "DELETING" && vm.phase !== "DELETED") this.beginDeleting(vm);
    this.options.operations.markRunning(op);
    return op;
  }

  // ---- /sim ----------------------------------------------------------------------------------

  /** GCP reclaims a Spot VM: TERMINATED "Instance was preempted." (or deleted, if it asked so). */
  async preempt(vm: GcpVm): Promise<void> {
    if (vm.scheduling.provisioningModel !== "SPOT")
      throw invalid(`Instance '${vm.name}' is not a Spot VM (provisioningModel ${vm.scheduling.provisioningModel}).`);
    if (vm.phase !== "PROVISIONING" && vm.phase !== "STAGING" && vm.phase !== "RUNNING")
      throw resourceNotReady(resourcePath(vm));
    if (vm.scheduling.instanceTerminationAction === "DELETE") {
      await this.delete(vm).done;
      return;
    }
    this.setPhase(vm, "STOPPING", undefined);
    const generation = vm.generation;
    await vm.bootTask;
    await vm.teardown;
    if (vm.generation !== generation) return;
    vm.lastStopMs = this.options.clock.now();
    this.setPhase(vm, "TERMINATED", PREEMPTED_MESSAGE);
  }

  /** Closes the VM's SSH server (open connections cut, new ones refused) or opens it again. */
  async setSshDown(vm: GcpVm, down: boolean): Promise<void> {
    vm.sshDown = down;
    if (down) {
      const ssh = vm.ssh;
      vm.ssh = undefined;
      await ssh?.close();
      return;
    }
    const sandbox = vm.sandbox;
    if (vm.phase !== "RUNNING" || vm.ssh || !sandbox?.alive) return;
    const generation = vm.generation;
    const ssh = await this.startSsh(vm, sandbox, vm.sshPort);
    if (vm.generation !== generation || vm.sshDown || vm.ssh) {
      await ssh.close();
      return;
    }
    vm.ssh = ssh;
    vm.sshPort = ssh.port;
  }

  /** The next insert's operation ends DONE with this error, and its VM never comes to be. */
  failNextInsert(error: OperationError): void {
    this.pendingInsertError = error;
  }

  /** Kills every VM's sandbox and SSH server (market shutdown); disks stay on the host. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const all = this.all();
    for (const vm of all) {
      for (const timer of vm.timers) timer.cancel();
      vm.timers = [];
      vm.generation++;
      this.startTeardown(vm);
    }
    await Promise.all([...this.inflight]);
    await Promise.all(all.map(async (vm) => vm.teardown));
    this.options.operations.close();
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** PROVISIONING for a moment, then STAGING while the machine boots, then RUNNING. */
  private provision(vm: GcpVm): void {
    this.after(vm, PROVISIONING_MS, () => {
      const injected = vm.insertError;
      if (injected) {
        // The VM never came to be: nothing booted and nothing is on disk yet, so it goes at once,
        // before its operation says DONE (a client that reads it then gets a 404).
        vm.insertError = undefined;
        this.vms.delete(`${vm.zone.name}/${vm.name}`);
        this.setPhase(vm, "DELETING", undefined, injected);
        this.setPhase(vm, "DELETED", undefined, injected);
        this.waiters.delete(vm);
        return;
      }
      this.setPhase(vm, "STAGING", undefined);
      this.markWaitersRunning(vm);
      const generation = vm.generation;
      this.after(vm, MIN_STAGING_MS, () => {
        vm.stagedLongEnough = true;
        this.runningIfReady(vm);
      });
      this.startBoot(vm, generation);
    });
  }

  private runningIfReady(vm: GcpVm): void {
    if (vm.phase !== "STAGING" || !vm.stagedLongEnough || !vm.bootReady) return;
    vm.lastStartMs = this.options.clock.now();
    this.setPhase(vm, "RUNNING", undefined);
  }

  private beginStopping(vm: GcpVm, statusMessage: string | undefined): void {
    this.setPhase(vm, "STOPPING", statusMessage);
    this.markWaitersRunning(vm);
    this.afterTeardown(vm, MIN_STOPPING_MS, () => {
      vm.lastStopMs = this.options.clock.now();
      this.setPhase(vm, "TERMINATED", vm.statusMessage);
    });
  }

  /** The VM goes: sandbox killed, disk removed, record dropped, then its operations are DONE. */
  private beginDeleting(vm: GcpVm): void {
    this.setPhase(vm, "DELETING", undefined);
    this.afterTeardown(vm, DELETING_MS, () => {
      const removal = (async () => {
        await vm.bootTask;
        await vm.teardown;
        await rm(vm.dir, { recursive: true, force: true });
        this.vms.delete(`${vm.zone.name}/${vm.name}`);
        this.setPhase(vm, "DELETED", undefined);
        this.waiters.delete(vm);
      })();
      this.track(removal);
    });
  }

  private setPhase(vm: GcpVm, to: GcpVmPhase, statusMessage: string | undefined, failure?: OperationError): void {
    const from = vm.phase;
    assertVmPhaseChange(from, to);
    vm.phase = to;
    vm.statusMessage = statusMessage;
    vm.generation++;
    for (const timer of vm.timers) timer.cancel();
    vm.timers = [];
    if (to !== "STAGING" && to !== "RUNNING") this.startTeardown(vm);
    if (to === "PROVISIONING") {
      vm.stagedLongEnough = false;
      vm.bootReady = false;
      // A restart is a fresh boot: a /sim SSH fault does not outlive it.
      vm.sshDown = false;
    }
    this.options.logger.debug({ vm: vm.name, zone: vm.zone.name, from, to }, "gcp vm phase");
    this.settleWaiters(vm, to, failure);
  }

  /** Finishes the operations whose target this phase is, and those it makes unreachable. */
  private settleWaiters(vm: GcpVm, phase: GcpVmPhase, failure: OperationError | undefined): void {
    const waiting = this.waiters.get(vm);
    if (!waiting) return;
    const keep: Waiter[] = [];
    for (const waiter of waiting) {
      if (waiter.target === phase) {
        this.options.operations.finish(waiter.op);
      } else if (abandons(waiter.target, phase)) {
        // A boot that failed or a VM that never came to be fails the insert/start; a user's own
        // stop or delete meanwhile just ends the earlier operation.
        const error = failure ?? (phase === "TERMINATED" && waiter.target === "RUNNING" ? bootError(vm) : undefined);
        this.options.operations.finish(waiter.op, error);
      } else {
        keep.push(waiter);
      }
    }
    this.waiters.set(vm, keep);
  }

  private markWaitersRunning(vm: GcpVm): void {
    for (const waiter of this.waiters.get(vm) ?? []) this.options.operations.markRunning(waiter.op);
  }

  private operation(vm: GcpVm, type: GcpOperation["type"], target: Waiter["target"]): GcpOperation {
    const op = this.options.operations.create(vm.zone, type, { name: vm.name, id: vm.id });
    const waiting = this.waiters.get(vm) ?? [];
    waiting.push({ op, target });
    this.waiters.set(vm, waiting);
    return op;
  }

  /** Runs `run` after `delayMs` simulated ms unless the VM changed phase meanwhile. */
  private after(vm: GcpVm, delayMs: number, run: () => void): void {
    const generation = vm.generation;
    vm.timers.push(
      this.options.clock.after(delayMs, () => {
        if (vm.generation === generation) run();
      }),
    );
  }

  /** Like `after`, and also waits until the sandbox is dead. */
  private afterTeardown(vm: GcpVm, delayMs: number, run: () => void): void {
    const generation = vm.generation;
    this.after(vm, delayMs, () => {
      void (async () => {
        // A boot still in flight kills its own sandbox once it sees the change: wait for that too.
        await vm.bootTask;
        await vm.teardown;
        if (vm.generation === generation && !this.closed) run();
      })();
    });
  }

  private startBoot(vm: GcpVm, generation: number): void {
    if (this.closed) return;
    const task = this.boot(vm, generation);
    vm.bootTask = task;
    this.track(task);
  }

  private track(task: Promise<void>): void {
    this.inflight.add(task);
    void task.finally(() => this.inflight.delete(task));
  }

  /** Starts the VM's sandbox and SSH server; a failure leaves it TERMINATED, saying why. */
  private async boot(vm: GcpVm, generation: number): Promise<void> {
    const current = () => vm.generation === generation;
    try {
      await vm.teardown;
      if (vm.freshDisk) {
        // rm never follows links a machine planted: it removes them, not what they point at.
        await rm(vm.dir, { recursive: true, force: true });
        vm.freshDisk = false;
      }
      if (!current()) return;
      const sandbox = await BubblewrapSandbox.start(vm.dir, this.options.logger, this.options.network);
      if (!current()) {
        await sandbox.kill();
        return;
      }
      vm.sandbox = sandbox;
      void sandbox.whenExited().then(() => this.sandboxDied(vm, sandbox));
      // A restart may get another port if its old one was taken meanwhile; GCP clients read it again.
      const ssh = await this.startSsh(vm, sandbox, undefined);
      if (!current()) {
        await ssh.close();
        return;
      }
      vm.sshPort = ssh.port;
      if (vm.sshDown) await ssh.close();
      else vm.ssh = ssh;
      if (!current()) return;
      vm.bootReady = true;
      this.runningIfReady(vm);
    } catch (error) {
      this.options.logger.warn({ err: error, vm: vm.name }, "gcp vm boot failed");
      if (!current()) return;
      const message =
        error instanceof SandboxError || error instanceof NetworkError
          ? error.message
          : `sandbox: ${error instanceof Error ? error.message : String(error)}`;
      vm.lastStopMs = this.options.clock.now();
      this.setPhase(vm, "TERMINATED", `Instance failed to boot: ${message}`);
    }
  }

  private async startSsh(vm: GcpVm, sandbox: BubblewrapSandbox, port: number | undefined): Promise<InstanceSshServer> {
    const options = {
      host: this.sshAddress,
      hostKey: vm.hostKey,
      authorizedKeys: () => rootSshKeys(vm.metadataItems),
      sandbox,
      environment: () => vmEnvironment(),
      sftpServer: this.options.sftpServer,
      logger: this.options.logger,
    };
    if (port === undefined) return InstanceSshServer.start(options);
    try {
      return await InstanceSshServer.start({ ...options, port });
    } catch {
      return InstanceSshServer.start(options);
    }
  }

  /** The sandbox's init died without us killing it: the guest is gone, GCP shows TERMINATED. */
  private sandboxDied(vm: GcpVm, sandbox: BubblewrapSandbox): void {
    if (vm.sandbox !== sandbox || (vm.phase !== "RUNNING" && vm.phase !== "STAGING")) return;
    vm.lastStopMs = this.options.clock.now();
    this.setPhase(vm, "TERMINATED", "Instance terminated: its guest OS halted unexpectedly.");
  }

  private startTeardown(vm: GcpVm): void {
    const ssh = vm.ssh;
    const sandbox = vm.sandbox;
    if (!ssh && !sandbox) return;
    vm.ssh = undefined;
    vm.sandbox = undefined;
    vm.sshPort = undefined;
    const previous = vm.teardown;
    vm.teardown = (async () => {
      await previous;
      await ssh?.close();
      await sandbox?.kill();
    })();
  }

  private newVm(request: InsertRequest): GcpVm {
    const zone = request.zone;
    const host = this.nextHost.get(zone.subnetPrefix) ?? 2;
    this.nextHost.set(zone.subnetPrefix, host >= 254 ? 2 : host + 1);
    return {
      id: decimalId(),
      name: request.name,
      zone,
      machineType: request.machineType,
      phase: "PROVISIONING",
      statusMessage: undefined,
      createdAtMs: this.options.clock.now(),
      lastStartMs: undefined,
      lastStopMs: undefined,
      labels: request.labels,
      metadataItems: request.metadataItems,
      scheduling: request.scheduling,
      diskSizeGb: request.diskSizeGb,
      sourceImage: request.sourceImage,
      accessConfigs: request.accessConfigs,
      networkIP: `${zone.subnetPrefix}.${host}`,
      hostKey: generateEd25519KeyPair().privateKey,
      dir: join(this.options.dataDir, "gcp", zone.name, request.name),
      sandbox: undefined,
      ssh: undefined,
      sshPort: undefined,
      sshDown: false,
      insertError: undefined,
      generation: 0,
      timers: [],
      bootTask: undefined,
      teardown: undefined,
      stagedLongEnough: false,
      bootReady: false,
      freshDisk: true,
    };
  }
}

/** Whether reaching `phase` means an operation waiting for `target` can no longer get there. */
function abandons(target: Waiter["target"], phase: GcpVmPhase): boolean {
  switch (target) {
    case "RUNNING":
      return phase === "STOPPING" || phase === "TERMINATED" || phase === "DELETING" || phase === "DELETED";
    case "TERMINATED":
      return phase === "PROVISIONING" || phase === "DELETING" || phase === "DELETED";
    case "DELETED":
      return false;
  }
}

function bootError(vm: GcpVm): OperationError | undefined {
  if (vm.statusMessage === undefined || vm.statusMessage === PREEMPTED_MESSAGE) return undefined;
  return { code: "INTERNAL_ERROR", message: vm.statusMessage };
}

/** What every process in a VM gets: a plain Debian root login (no GPU, no Vast variables). */
function vmEnvironment(): Record<string, string> {
  return {
    PATH: SYSTEM_PATH,
    HOME: "/root",
    USER: "root",
    LOGNAME: "root",
    SHELL,
    LANG: "C.UTF-8",
  };
}

export function resourcePath(vm: GcpVm): string {
  return `projects/dumont-sim/zones/${vm.zone.name}/instances/${vm.name}`;
}

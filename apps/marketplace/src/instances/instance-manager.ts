import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Account } from "../accounts";
import type { SimClock } from "../clock";
import { freeGpus, minBidFor, type Machine } from "../market/machine";
import type { Market, OfferSlot } from "../market/market";
import { Rng, round } from "../random";
import { BubblewrapSandbox, SandboxError } from "../sandbox/bubblewrap-sandbox";
import { NetworkError, type SandboxNetwork } from "../sandbox/sandbox-network";
import { PortForwards } from "../sandbox/port-forwards";
import { runInMachine, type MachineRun, type RunLimits } from "../sandbox/run-in-machine";
import {
  SIM_BIN_IN_SANDBOX,
  SIM_DIR_IN_SANDBOX,
  installSandboxTools,
  instancePaths,
  writeGpuState,
  type GpuState,
} from "../sandbox/sandbox-tools";
import { InstanceSshServer } from "../ssh/instance-ssh-server";
import { generateEd25519KeyPair } from "../ssh/host-key";
import { Billing } from "./billing";
import { assertPhaseChange, holdsGpus, vastStateOf, type Instance, type LaunchSpec, type Phase } from "./instance";
import { PhantomRenters } from "./phantom-renters";

/** A create request after the HTTP layer validated it (vast-api.md §3.2). */
export interface CreateRequest extends LaunchSpec {
  targetState: "running" | "stopped";
  cancelUnavail: boolean;
}

export type CreateResult =
  | { kind: "created"; instance: Instance }
  | { kind: "bid_too_low"; instance: Instance | undefined; minBid: number }
  | { kind: "unavailable" };

export type StartResult = "started" | "queued" | "already" | "no_credit";

/** How boots fail (vast-api.md §6.3 seeded faults). */
export type BootFailure = "oci_error" | "exited" | "pull_error";

export const QUEUED_MSG = "Required resources are currently unavailable, state change queued.";

/** Called after every phase change (the fault scheduler listens). */
export type PhaseListener = (instance: Instance, from: Phase, to: Phase) => void;

export interface InstanceManagerOptions {
  clock: SimClock;
  market: Market;
  seed: number;
  host: string;
  dataDir: string;
  /** The market's machine network: every sandbox gets its own namespace on it. */
  network: SandboxNetwork;
  sftpServer: string | undefined;
  /** Boot failure probability of a machine (profile draw or /sim override). */
  bootFailureOf: (machine: Machine) => number;
  logger: Logger;
}

const SHELL = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

/**
 * Owns every instance and drives its lifecycle (vast-api.md §3.5): GPUs taken and released,
 * the seeded boot timeline on the simulated clock, the sandbox and SSH server while running,
 * billing, queued starts, and the faults the simulator injects.
 */
export class InstanceManager {
  private readonly instances = new Map<number, Instance>();
  private nextId = 30_000_001;
  private readonly listeners: PhaseListener[] = [];
  /** Boots in flight (real work outside the simulated clock). */
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;
  readonly billing: Billing;
  readonly phantoms: PhantomRenters;

  constructor(private readonly options: InstanceManagerOptions) {
    this.billing = new Billing(
      options.clock,
      (account) => this.ofAccount(account),
      (account) => void this.stopForCredit(account),
    );
    this.phantoms = new PhantomRenters(options.clock, (machine) => this.scheduleQueuedStarts(machine));
  }

  onPhase(listener: PhaseListener): void {
    this.listeners.push(listener);
  }

  get(id: number): Instance | undefined {
    return this.instances.get(id);
  }

  all(): Instance[] {
    return [...this.instances.values()];
  }

  ofAccount(account: Account): Instance[] {
    return this.all().filter((i) => i.account === account);
  }

  /** Machines on which the account holds GPUs (the offers' `rented` flag). */
  rentedMachines(account: Account | undefined): Set<number> {
    const out = new Set<number>();
    if (!account) return out;
    for (const i of this.instances.values())
      if (i.account === account && holdsGpus(i.phase)) out.add(i.machine.machineId);
    return out;
  }

  create(account: Account, slot: OfferSlot, request: CreateRequest): CreateResult {
    const machine = slot.machine;
    const minBid = minBidFor(machine, slot.numGpus);
    const bidTooLow = request.bid !== null && request.bid < minBid;
    const free =
      freeGpus(machine) >= slot.numGpus && this.options.market.isRentable(slot, this.options.clock.nowSeconds());
    const wantsRunning = request.targetState === "running";
    if (wantsRunning && request.cancelUnavail && (bidTooLow || !free)) {
      return bidTooLow ? { kind: "bid_too_low", instance: undefined, minBid } : { kind: "unavailable" };
    }
    // Book the time before this instance existed at the old rate.
    this.billing.accrue(account);
    const instance = this.newInstance(account, slot, request);
    this.instances.set(instance.id, instance);
    if (!wantsRunning || bidTooLow) {
      // Vast makes an interruptible with a losing bid in the stopped state and says so (dstack PR #4036).
      instance.outbid = bidTooLow;
      this.setPhase(instance, "stopped", {
        actualStatus: null,
        statusMsg: bidTooLow
          ? `Bid of $${round(request.bid ?? 0, 4)}/hr is below the minimum bid of $${round(minBid, 4)}/hr; instance created stopped.`
          : null,
      });
      return bidTooLow ? { kind: "bid_too_low", instance, minBid } : { kind: "created", instance };
    }
    if (!free) {
      // cancel_unavail false: the instance exists, waits for the GPU and starts when it frees.
      this.setPhase(instance, "queued", { actualStatus: null, statusMsg: QUEUED_MSG });
      return { kind: "created", instance };
    }
    this.acquire(instance);
    this.setPhase(instance, "scheduling", { actualStatus: null, statusMsg: null });
    const rng = Rng.derive(this.options.seed, "schedule", instance.id);
    const schedulingS = rng.uniform(machine.boot.schedulingMinS, machine.boot.schedulingMaxS);
    this.phaseTimer(instance, schedulingS * 1000, () => this.enterLoading(instance));
    return { kind: "created", instance };
  }

  /** `PUT /instances/{id}/ {state: "running"}`. */
  start(instance: Instance): StartResult {
    switch (instance.phase) {
      case "scheduling":
      case "loading":
      case "running":
      case "rebooting":
      case "offline":
      case "new":
      case "destroyed":
        return "already";
      case "failed":
        this.enterLoading(instance);
        return "started";
      case "stopped":
      case "queued": {
        this.billing.accrue(instance.account);
        if (instance.account.credit <= 0) return "no_credit";
        if (this.canStart(instance)) {
          this.acquire(instance);
          instance.outbid = false;
          this.enterLoading(instance);
          return "started";
        }
        if (instance.phase === "stopped") {
          const actual = instance.actualStatus === null ? null : "exited";
          this.setPhase(instance, "queued", { actualStatus: actual, statusMsg: QUEUED_MSG });
        }
        return "queued";
      }
    }
  }

  /** `PUT /instances/{id}/ {state: "stopped"}`: resolves once the sandbox's processes are dead. */
  async stop(instance: Instance, reason: "user" | "credit" | "outbid" = "user"): Promise<void> {
    if (instance.phase === "destroyed") return;
    if (instance.phase !== "stopped") {
      const { actualStatus, statusMsg } = stopFields(instance, reason);
      this.setPhase(instance, "stopped", { actualStatus, statusMsg });
    }
    await instance.teardown;
  }

  async destroy(instance: Instance): Promise<void> {
    if (instance.phase !== "destroyed") {
      this.setPhase(instance, "destroyed", { actualStatus: null, statusMsg: "Instance destroyed." });
    }
    this.instances.delete(instance.id);
    // A boot in flight sees the phase change and cleans up after itself; wait for it so that
    // nothing recreates the directories after they are deleted.
    await instance.bootTask;
    await instance.teardown;
    await rm(instance.dir, { recursive: true, force: true });
  }

  /** `PUT /instances/reboot/{id}/`: restarts the container, keeps the GPU. False when not running. */
  reboot(instance: Instance): boolean {
    if (instance.phase === "failed") {
      this.enterLoading(instance);
      return true;
    }
    if (instance.phase !== "running") return false;
    this.setPhase(instance, "rebooting", { actualStatus: "rebooting", statusMsg: "Rebooting container." });
    const rng = Rng.derive(this.options.seed, "reboot", instance.id, instance.bootCount++);
    const generation = instance.generation;
    this.phaseTimer(instance, rng.uniform(5, 15) * 1000, () => this.startBringUp(instance, generation));
    return true;
  }

  /**
   * `PUT /instances/recycle/{id}/`: the container is destroyed and created again from a freshly
   * pulled image, keeping the GPU (vast-api.md §3.1 #11). The container's disk goes with it:
   * `/workspace` and `/root` start empty. False when the instance has no container to recycle.
   */
  async recycle(instance: Instance): Promise<boolean> {
    if (instance.phase !== "running" && instance.phase !== "failed") return false;
    if (instance.phase === "running") {
      this.setPhase(instance, "rebooting", {
        actualStatus: "recycling",
        statusMsg: `Recycling container: pulling ${instance.image} afresh.`,
      });
    }
    const generation = instance.generation;
    await instance.teardown;
    // A stop or destroy meanwhile wins; the disk is then left as it is.
    if (instance.generation !== generation) return true;
    const paths = instancePaths(instance.dir);
    // rm never follows links the machine planted: it removes them, not what they point at.
    await rm(paths.workspace, { recursive: true, force: true });
    await rm(paths.home, { recursive: true, force: true });
    if (instance.generation !== generation) return true;
    instance.imageCached = false;
    this.enterLoading(instance);
    return true;
  }

  /** `PUT /instances/bid_price/{id}/`: a winning bid takes the GPUs back from a higher bidder. */
  setBid(instance: Instance, price: number): void {
    this.billing.accrue(instance.account);
    instance.bid = price;
    const machine = instance.machine;
    if (machine.competingBidPerGpu > 0 && price > machine.competingBidPerGpu * instance.numGpus) {
      this.phantoms.endAll(machine, "bidder");
    }
    if (instance.outbid && (instance.phase === "stopped" || instance.phase === "queued")) {
      if (price >= minBidFor(machine, instance.numGpus)) this.start(instance);
    }
  }

  /**
   * Runs `argv` in the instance's machine exactly as an SSH command runs there (the same sandbox
   * entry, the same environment); undefined when the machine is not running.
   */
  async runInInstance(instance: Instance, argv: readonly string[], limits: RunLimits): Promise<MachineRun | undefined> {
    const sandbox = instance.sandbox;
    if (instance.phase !== "running" || !sandbox?.alive) return undefined;
    return runInMachine(sandbox, argv, this.environment(instance), limits);
  }

  /** Writes the GPU state `nvidia-smi` reads. */
  async setGpu(instance: Instance, utilization: number, memoryUsedMb: number | null): Promise<void> {
    instance.gpuUtil = utilization;
    instance.gpuMemUsedMb = memoryUsedMb;
    await writeGpuState(instance.dir, this.gpuState(instance));
  }

  // ---- faults -------------------------------------------------------------------------------

  /** The container fails to start (or dies at once): Vast's "created" + OCI error. */
  failBoot(instance: Instance, failure: BootFailure): boolean {
    if (!["scheduling", "loading", "running", "rebooting"].includes(instance.phase)) return false;
    this.setPhase(instance, "failed", bootFailureFields(instance, failure));
    return true;
  }

  /** The container's main process exited. */
  exitContainer(instance: Instance): boolean {
    if (instance.phase !== "running") return false;
    this.setPhase(instance, "failed", { actualStatus: "exited", statusMsg: "Container exited with code 137." });
    return true;
  }

  /**
   * A higher bid takes the GPUs: processes killed without notice, data kept, and the
   * triple-stopped state dstack detects (PR #4037). Resumes only after a winning bid_price.
   */
  async outbid(instance: Instance): Promise<boolean> {
    if (instance.bid === null || instance.phase === "destroyed") return false;
    const machine = instance.machine;
    const perGpu = instance.bid / instance.numGpus;
    machine.competingBidPerGpu = Math.max(machine.competingBidPerGpu, round(perGpu * 1.25 + 0.01, 4));
    const lease = this.phantoms.takeFree(machine, "bidder", 6 * 3_600_000);
    if (holdsGpus(instance.phase)) instance.grabOnRelease = () => this.phantoms.grow(lease, instance.numGpus);
    instance.outbid = true;
    if (instance.phase === "queued") {
      this.setPhase(instance, "stopped", stopFields(instance, "outbid"));
    } else {
      await this.stop(instance, "outbid");
    }
    return true;
  }

  /** The host disconnects: its instances go `offline`, their processes die with the host. */
  async hostOffline(machine: Machine): Promise<void> {
    machine.online = false;
    const affected = this.onMachine(machine).filter((i) => holdsGpus(i.phase) && i.phase !== "offline");
    for (const instance of affected) {
      this.setPhase(instance, "offline", {
        actualStatus: "offline",
        statusMsg: "Host machine is offline: no heartbeat.",
      });
    }
    await Promise.all(affected.map(async (i) => i.teardown));
  }

  /** The host is back: its offline instances restart their containers (processes were lost). */
  hostOnline(machine: Machine): void {
    machine.online = true;
    for (const instance of this.onMachine(machine)) {
      if (instance.phase === "offline") this.enterLoading(instance);
    }
    this.scheduleQueuedStarts(machine);
  }

  /** Another renter takes the machine's free GPUs, and this instance's too once it stops. */
  takeGpus(instance: Instance, durationMs: number): void {
    const lease = this.phantoms.takeFree(instance.machine, "renter", durationMs);
    if (holdsGpus(instance.phase)) instance.grabOnRelease = () => this.phantoms.grow(lease, instance.numGpus);
  }

  /** Cuts the instance's SSH connections; returns how many. */
  dropSsh(instance: Instance): number {
    return instance.ssh?.dropConnections() ?? 0;
  }

  /** Runs `run` after `delayMs` simulated ms unless the instance changed phase meanwhile. */
  phaseTimer(instance: Instance, delayMs: number, run: () => void): void {
    const generation = instance.generation;
    instance.phaseTimers.push(
      this.options.clock.after(delayMs, () => {
        if (instance.generation === generation) run();
      }),
    );
  }

  /** Books charges of every account (called on a timer and after the clock jumps). */
  accrueAll(accounts: readonly Account[]): void {
    for (const account of accounts) this.billing.accrue(account);
  }

  /** Kills every sandbox and SSH server (marketplace shutdown). */
  async shutdown(): Promise<void> {
    this.closed = true;
    const all = this.all();
    for (const instance of all) {
      for (const timer of instance.phaseTimers) timer.cancel();
      instance.generation++;
      this.startTeardown(instance);
    }
    await Promise.all([...this.inflight]);
    await Promise.all(all.map(async (i) => i.teardown));
    this.phantoms.close();
  }

  gpuState(instance: Instance): GpuState {
    const model = instance.machine.model;
    const used =
      instance.gpuMemUsedMb ??
      (instance.gpuUtil > 0 ? Math.round(model.ramMb * (0.05 + (0.85 * instance.gpuUtil) / 100)) : 1);
    return {
      name: model.smiName,
      count: instance.numGpus,
      memoryTotalMb: model.ramMb,
      memoryUsedMb: Math.min(used, model.ramMb),
      utilization: instance.gpuUtil,
      temperature: Math.round(32 + instance.gpuUtil * 0.45),
      driverVersion: instance.machine.driverVersion,
      cudaVersion: instance.machine.cudaMaxGood,
      machineId: instance.machine.machineId,
    };
  }

  /** The environment every sandbox process gets (Vast's variables, vast-api.md §3.7). */
  environment(instance: Instance): Record<string, string> {
    const sshPort = instance.ssh?.port;
    const env: Record<string, string> = {
      PATH: `${SIM_BIN_IN_SANDBOX}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      SHELL,
      LANG: "C.UTF-8",
      CONTAINER_ID: String(instance.id),
      CONTAINER_API_KEY: instance.instanceApiKey,
      VAST_CONTAINERLABEL: `C.${instance.id}`,
      PUBLIC_IPADDR: this.options.host,
      GPU_COUNT: String(instance.numGpus),
      DATA_DIRECTORY: "/workspace/",
      JUPYTER_TOKEN: instance.jupyterToken,
      NVIDIA_VISIBLE_DEVICES: "all",
    };
    const firstKey = instance.sshKeys[0];
    if (firstKey) env.SSH_PUBLIC_KEY = firstKey.publicKey;
    if (sshPort !== undefined) env.VAST_TCP_PORT_22 = String(sshPort);
    // A container port is published on the market's host at another port, as Docker does on Vast.
    for (const port of instance.exposedPorts) {
      const hostPort = instance.forwards?.hostPort(port);
      if (hostPort !== undefined) env[`VAST_TCP_PORT_${port}`] = String(hostPort);
    }
    return { ...env, ...instance.env };
  }

  // ---- internals ----------------------------------------------------------------------------

  private newInstance(account: Account, slot: OfferSlot, request: CreateRequest): Instance {
    const id = this.nextId++;
    const price = slot.machine.dphBasePerGpu * slot.numGpus;
    return {
      id,
      account,
      slot,
      machine: slot.machine,
      numGpus: slot.numGpus,
      image: request.image,
      diskGb: request.diskGb,
      label: request.label,
      onstart: request.onstart,
      // Account-level variables (`/secrets/`) reach every instance created after they were set;
      // the create's own env wins on a clash.
      env: { ...Object.fromEntries(account.envVars), ...request.env },
      extraEnv: request.extraEnv,
      exposedPorts: request.exposedPorts,
      runtype: request.runtype,
      args: request.args,
      bid: request.bid,
      dphBase: round(price, 6),
      storageCostPerGbMonth: slot.machine.storageCostPerGbMonth,
      instanceApiKey: randomBytes(32).toString("hex"),
      jupyterToken: randomBytes(32).toString("hex"),
      hostKey: generateEd25519KeyPair().privateKey,
      sshKeys: account.sshKeys.map((k) => ({ id: k.id, publicKey: k.publicKey })),
      startDateMs: this.options.clock.now(),
      dir: join(this.options.dataDir, "instances", String(id)),
      phase: "new",
      actualStatus: null,
      ...vastStateOf("new"),
      statusMsg: null,
      outbid: false,
      bootCount: 0,
      imageCached: false,
      runningSinceMs: null,
      gpuUtil: 0,
      gpuMemUsedMb: null,
      generation: 0,
      phaseTimers: [],
      sandbox: undefined,
      forwards: undefined,
      ssh: undefined,
      pendingWork: 0,
      bootTask: undefined,
      teardown: undefined,
      grabOnRelease: undefined,
    };
  }

  private setPhase(
    instance: Instance,
    to: Phase,
    fields: { actualStatus: string | null; statusMsg: string | null },
  ): void {
    const from = instance.phase;
    assertPhaseChange(from, to);
    // Book the time before the change at the old rate.
    this.billing.accrue(instance.account);
    instance.phase = to;
    instance.generation++;
    for (const timer of instance.phaseTimers) timer.cancel();
    instance.phaseTimers = [];
    Object.assign(instance, vastStateOf(to));
    instance.actualStatus = fields.actualStatus;
    instance.statusMsg = fields.statusMsg;
    if (to === "running") instance.runningSinceMs = this.options.clock.now();
    else if (to !== "rebooting") instance.runningSinceMs = null;
    if (holdsGpus(from) && !holdsGpus(to)) this.release(instance);
    if (to !== "running") this.startTeardown(instance);
    this.options.logger.debug({ instance: instance.id, from, to, actual: fields.actualStatus }, "instance phase");
    for (const listener of this.listeners) listener(instance, from, to);
  }

  private canStart(instance: Instance): boolean {
    const machine = instance.machine;
    if (freeGpus(machine) < instance.numGpus) return false;
    return instance.bid === null || instance.bid >= minBidFor(machine, instance.numGpus);
  }

  private acquire(instance: Instance): void {
    instance.machine.usedGpus += instance.numGpus;
  }

  private release(instance: Instance): void {
    const machine = instance.machine;
    machine.usedGpus = Math.max(0, machine.usedGpus - instance.numGpus);
    const grab = instance.grabOnRelease;
    instance.grabOnRelease = undefined;
    grab?.();
    this.scheduleQueuedStarts(machine);
  }

  /** Queued starts run after the current transition finishes, oldest first. */
  private scheduleQueuedStarts(machine: Machine): void {
    setImmediate(() => {
      if (this.closed) return;
      const queued = this.onMachine(machine)
        .filter((i) => i.phase === "queued")
        .sort((a, b) => a.id - b.id);
      for (const instance of queued) {
        if (instance.phase === "queued" && instance.account.credit > 0 && this.canStart(instance)) {
          this.acquire(instance);
          instance.outbid = false;
          this.enterLoading(instance);
        }
      }
    });
  }

  private onMachine(machine: Machine): Instance[] {
    return this.all().filter((i) => i.machine === machine);
  }

  /** Image pull + container start; then the container runs or the boot fails (seeded per host). */
  private enterLoading(instance: Instance): void {
    const cached = instance.imageCached;
    this.setPhase(instance, "loading", {
      actualStatus: "loading",
      statusMsg: cached ? `Starting container from ${instance.image}` : `Pulling image ${instance.image}`,
    });
    const rng = Rng.derive(this.options.seed, "boot", instance.id, instance.bootCount++);
    const loadingS = cached
      ? rng.uniform(2, 5)
      : Math.min(600, Math.max(10, rng.logNormal(instance.machine.boot.loadingMedianS, 0.4)));
    const failure: BootFailure | undefined = rng.chance(this.options.bootFailureOf(instance.machine))
      ? rng.weighted([
          ["oci_error", 5],
          ["exited", 3],
          ["pull_error", 2],
        ] as const)
      : undefined;
    const generation = instance.generation;
    this.phaseTimer(instance, loadingS * 1000, () => {
      if (failure) this.failBoot(instance, failure);
      else this.startBringUp(instance, generation);
    });
  }

  /** Runs `bringUp` as a tracked task: destroy and shutdown wait for it before removing things. */
  private startBringUp(instance: Instance, generation: number): void {
    if (this.closed) return;
    const task = this.bringUp(instance, generation);
    instance.bootTask = task;
    this.inflight.add(task);
    void task.finally(() => this.inflight.delete(task));
  }

  /** Starts the sandbox and its SSH server, then marks the instance running. */
  private async bringUp(instance: Instance, generation: number): Promise<void> {
    const current = () => instance.generation === generation;
    instance.pendingWork++;
    try {
      await instance.teardown;
      await installSandboxTools(instance.dir, this.gpuState(instance), instance.image);
      if (!current()) return;
      const sandbox = await BubblewrapSandbox.start(instance.dir, this.options.logger, this.options.network);
      if (!current()) {
        await sandbox.kill();
        return;
      }
      instance.sandbox = sandbox;
      void sandbox.whenExited().then(() => this.sandboxDied(instance, sandbox));
      const forwards = await PortForwards.start(this.options.host, sandbox.address, instance.exposedPorts);
      if (!current()) {
        await forwards.close();
        return;
      }
      instance.forwards = forwards;
      const ssh = await InstanceSshServer.start({
        host: this.options.host,
        hostKey: instance.hostKey,
        authorizedKeys: () => instance.sshKeys.map((k) => k.publicKey),
        sandbox,
        environment: () => this.environment(instance),
        sftpServer: this.options.sftpServer,
        logger: this.options.logger,
      });
      if (!current()) {
        await ssh.close();
        return;
      }
      instance.ssh = ssh;
      instance.imageCached = true;
      this.setPhase(instance, "running", {
        actualStatus: "running",
        statusMsg: `success, running ${instance.image}/ssh`,
      });
      await this.runOnstart(instance, sandbox);
    } catch (error) {
      this.options.logger.warn({ err: error, instance: instance.id }, "instance boot failed");
      if (!current()) return;
      const message =
        error instanceof SandboxError || error instanceof NetworkError
          ? error.message
          : `sandbox: ${error instanceof Error ? error.message : String(error)}`;
      this.setPhase(instance, "failed", { actualStatus: "created", statusMsg: message });
    } finally {
      instance.pendingWork--;
    }
  }

  /** The namespace died without us killing it (someone SIGKILLed its init): the container exited. */
  private sandboxDied(instance: Instance, sandbox: BubblewrapSandbox): void {
    if (instance.sandbox !== sandbox) return;
    if (instance.phase !== "running" && instance.phase !== "loading") return;
    this.setPhase(instance, "failed", {
      actualStatus: "exited",
      statusMsg: "Error: container exited unexpectedly (its init process died).",
    });
  }

  /** Vast runs `onstart` after its entrypoint; here it runs in the background inside the sandbox. */
  private async runOnstart(instance: Instance, sandbox: BubblewrapSandbox): Promise<void> {
    if (!instance.onstart) return;
    // Written into the market's own directory; the sandbox copies it into its home itself.
    await writeFile(instancePaths(instance.dir).onstart, `${instance.onstart}\n`, { mode: 0o755 });
    const copy = `cp ${SIM_DIR_IN_SANDBOX}/onstart.sh /root/onstart.sh`;
    const child = sandbox.spawn(
      [SHELL, "-c", `${copy} && nohup ${SHELL} /root/onstart.sh > /root/onstart.log 2>&1 < /dev/null &`],
      this.environment(instance),
    );
    child.stdin?.end();
    child.stdout?.resume();
    child.stderr?.resume();
    await new Promise<void>((resolve) => {
      child.once("close", () => resolve());
      child.once("error", () => resolve());
    });
  }

  private startTeardown(instance: Instance): void {
    const ssh = instance.ssh;
    const sandbox = instance.sandbox;
    const forwards = instance.forwards;
    if (!ssh && !sandbox && !forwards) return;
    instance.ssh = undefined;
    instance.sandbox = undefined;
    instance.forwards = undefined;
    const previous = instance.teardown;
    instance.pendingWork++;
    instance.teardown = (async () => {
      try {
        await previous;
        await ssh?.close();
        await forwards?.close();
        await sandbox?.kill();
      } finally {
        instance.pendingWork--;
      }
    })();
  }

  private async stopForCredit(account: Account): Promise<void> {
    const running = this.ofAccount(account).filter((i) => i.phase !== "stopped" && i.phase !== "destroyed");
    await Promise.all(running.map((i) => this.stop(i, "credit")));
  }
}

function stopFields(
  instance: Instance,
  reason: "user" | "credit" | "outbid",
): { actualStatus: string | null; statusMsg: string | null } {
  switch (reason) {
    case "user":
      return {
        actualStatus: instance.actualStatus === null ? null : "stopped",
        statusMsg: "Instance stopped by user.",
      };
    case "credit":
      return {
        actualStatus: "exited",
        statusMsg: "Instance stopped: credit balance exhausted. Add credit to restart it.",
      };
    case "outbid":
      return {
        actualStatus: "stopped",
        statusMsg: `Instance outbid: a higher bid took the GPU (your bid $${round(instance.bid ?? 0, 4)}/hr, minimum now $${round(minBidFor(instance.machine, instance.numGpus), 4)}/hr). Raise it with PUT /api/v0/instances/bid_price/${instance.id}/ to resume.`,
      };
  }
}

function bootFailureFields(instance: Instance, failure: BootFailure): { actualStatus: string; statusMsg: string } {
  switch (failure) {
    case "oci_error":
      return {
        actualStatus: "created",
        statusMsg:
          "Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: nvidia-container-cli: initialization error: nvml error: driver/library version mismatch: unknown",
      };
    case "exited":
      return { actualStatus: "exited", statusMsg: "Error: container exited with code 1 during startup." };
    case "pull_error":
      return {
        actualStatus: "loading",
        statusMsg: `Error response from daemon: pull access denied for ${instance.image.split(":")[0] ?? instance.image}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
      };
  }
}

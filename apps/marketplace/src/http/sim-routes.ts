import type { FastifyInstance } from "fastify";
import { assertNever } from "@dumont/core";
import type { Instance } from "../instances/instance";
import type { MarketContext } from "../market-context";
import { round } from "../random";
import { authenticateAccount } from "./auth";
import {
  SimAccountBody,
  SimApiFaultsBody,
  SimBootFailureBody,
  SimClockBody,
  SimCreditBody,
  SimFaultBody,
  SimGpuBody,
  type FaultKind,
} from "./schemas";
import { noSuchInstance, parseBody, pathId, VastError } from "./vast-error";

/** Default time another renter keeps GPUs taken through /sim (simulated seconds). */
const DEFAULT_GPU_TAKEN_S = 300;

/**
 * The control API tests drive the simulation with (not part of Vast's API). It needs an account
 * key like the rest; instance faults apply to the caller's instances only.
 */
export function registerSimRoutes(app: FastifyInstance, ctx: MarketContext): void {
  const ownedInstance = (accountId: number, id: number): Instance => {
    const instance = ctx.manager.get(id);
    if (!instance || instance.account.id !== accountId) throw noSuchInstance(id);
    return instance;
  };

  app.get("/sim/state", (request) => {
    const account = authenticateAccount(ctx, request);
    ctx.manager.billing.accrue(account);
    return {
      simulated: true,
      seed: ctx.seed,
      profile: ctx.profileName,
      time_scale: ctx.clock.timeScale,
      now: round(ctx.clock.nowSeconds(), 3),
      api_faults: apiFaultsView(ctx),
      machines: ctx.market.machines.length,
      offers: ctx.market.slots.length,
      account: { id: account.id, email: account.email, credit: round(account.credit, 6) },
      instances: ctx.manager.ofAccount(account).map((i) => ({
        id: i.id,
        label: i.label,
        phase: i.phase,
        actual_status: i.actualStatus,
        cur_state: i.curState,
        intended_status: i.intendedStatus,
        status_msg: i.statusMsg,
        machine_id: i.machine.machineId,
        host_online: i.machine.online,
        num_gpus: i.numGpus,
        bid: i.bid,
        ssh_port: i.ssh?.port ?? null,
        ssh_connections: i.ssh?.connectionCount ?? 0,
        sandbox_init_pid: i.sandbox?.initPid ?? null,
        // The machine's own address on the market's network (the host reaches its services there).
        sandbox_address: i.sandbox?.address ?? null,
        gpu_util: i.gpuUtil,
        // Real work in flight (a sandbox starting or being killed): wait for 0 before advancing a frozen clock.
        pending_work: i.pendingWork,
        host_boot_failure: ctx.hostFaults(i.machine).bootFailure,
        workspace: `${i.dir}/workspace`,
      })),
    };
  });

  app.post<{ Params: { id: string } }>("/sim/instances/:id/faults", async (request) => {
    const account = authenticateAccount(ctx, request);
    const instance = ownedInstance(account.id, pathId(request.params.id, "instance"));
    const body = parseBody(SimFaultBody, request.body);
    const detail = await injectFault(ctx, instance, body.kind, body.duration_s);
    return { success: true, kind: body.kind, ...detail };
  });

  app.put<{ Params: { id: string } }>("/sim/instances/:id/gpu", async (request) => {
    const account = authenticateAccount(ctx, request);
    const instance = ownedInstance(account.id, pathId(request.params.id, "instance"));
    const body = parseBody(SimGpuBody, request.body);
    await ctx.manager.setGpu(instance, body.utilization, body.memory_used_mb ?? null);
    return { success: true, utilization: instance.gpuUtil };
  });

  app.post("/sim/api-faults", (request) => {
    authenticateAccount(ctx, request);
    const body = parseBody(SimApiFaultsBody, request.body);
    if (body.rate_429 !== undefined) ctx.apiFaults.rate429 = body.rate_429;
    if (body.rate_5xx !== undefined) ctx.apiFaults.rate5xx = body.rate_5xx;
    if (body.rate_lost_create !== undefined) ctx.apiFaults.lostCreateReply = body.rate_lost_create;
    return { success: true, ...apiFaultsView(ctx) };
  });

  app.post("/sim/credit", (request) => {
    const account = authenticateAccount(ctx, request);
    const body = parseBody(SimCreditBody, request.body);
    ctx.manager.billing.setCredit(account, body.credit);
    return { success: true, credit: account.credit };
  });

  app.post<{ Params: { machineId: string } }>("/sim/hosts/:machineId/boot-failure", (request) => {
    authenticateAccount(ctx, request);
    const machineId = pathId(request.params.machineId, "machine");
    const machine = ctx.market.machine(machineId);
    if (!machine) throw new VastError(404, "not_found", `No machine ${machineId}.`);
    const body = parseBody(SimBootFailureBody, request.body);
    ctx.setBootFailure(machine, body.probability);
    return { success: true, machine_id: machineId, probability: body.probability };
  });

  app.post("/sim/clock/advance", (request) => {
    authenticateAccount(ctx, request);
    const body = parseBody(SimClockBody, request.body);
    ctx.clock.advance(body.seconds * 1000);
    ctx.manager.accrueAll(ctx.accounts.all());
    return { success: true, now: round(ctx.clock.nowSeconds(), 3) };
  });

  app.post("/sim/accounts", (request) => {
    authenticateAccount(ctx, request);
    const body = parseBody(SimAccountBody, request.body);
    if (body.api_key && ctx.accounts.byApiKey(body.api_key)) {
      throw new VastError(400, "invalid_args", "An account with this API key already exists.");
    }
    const account = ctx.accounts.create({
      apiKey: body.api_key,
      credit: body.credit ?? 100,
      email: body.email,
      nowMs: ctx.clock.now(),
    });
    return { success: true, id: account.id, api_key: account.apiKey, credit: account.credit };
  });
}

async function injectFault(
  ctx: MarketContext,
  instance: Instance,
  kind: FaultKind,
  durationS: number | undefined,
): Promise<Record<string, unknown>> {
  const manager = ctx.manager;
  switch (kind) {
    case "boot_failure":
      if (!manager.failBoot(instance, "oci_error")) throw notApplicable(instance, "it is not booting or running");
      await instance.teardown;
      return {};
    case "exit":
      if (!manager.exitContainer(instance)) throw notApplicable(instance, "it is not running");
      await instance.teardown;
      return {};
    case "outbid":
      if (!(await manager.outbid(instance))) throw notApplicable(instance, "it is not interruptible");
      return {};
    case "host_offline":
      await manager.hostOffline(instance.machine);
      return { machine_id: instance.machine.machineId };
    case "host_online":
      manager.hostOnline(instance.machine);
      return { machine_id: instance.machine.machineId };
    case "ssh_drop":
      return { dropped: manager.dropSsh(instance) };
    case "gpu_taken":
      manager.takeGpus(instance, (durationS ?? DEFAULT_GPU_TAKEN_S) * 1000);
      return { machine_id: instance.machine.machineId };
    case "gpu_free":
      return { leases_ended: manager.phantoms.endAll(instance.machine) };
    default:
      return assertNever(kind, "fault kind");
  }
}

function apiFaultsView(ctx: MarketContext): Record<string, unknown> {
  return {
    rate_429: ctx.apiFaults.rate429,
    rate_5xx: ctx.apiFaults.rate5xx,
    rate_lost_create: ctx.apiFaults.lostCreateReply,
  };
}

function notApplicable(instance: Instance, why: string): VastError {
  return new VastError(
    400,
    "invalid_args",
    `Fault does not apply to instance ${instance.id}: ${why} (phase ${instance.phase}).`,
  );
}

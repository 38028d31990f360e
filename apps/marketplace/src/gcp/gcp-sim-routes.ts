/**
 * @module The `/sim/gcp/*` control routes tests drive the emulated project with (not part of GCP's
 * API). Like the rest of `/sim`, they need a market account key and answer in Vast's error shape.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { authenticateAccount } from "../http/auth";
import { parseBody, VastError } from "../http/vast-error";
import type { MarketContext } from "../market-context";
import type { GcpEmulation } from "./gcp-emulation";
import { GcpError } from "./gcp-errors";
import { statusOf, type GcpVm } from "./gcp-vm";

const SshDownBody = z.object({ down: z.boolean() });
const InsertErrorBody = z.object({
  code: z.string().trim().min(1).max(200),
  message: z.string().max(2000).optional(),
});

interface NameParams {
  name: string;
}
interface ZoneQuery {
  zone?: string;
}

export function registerGcpSimRoutes(app: FastifyInstance, ctx: MarketContext, gcp: GcpEmulation): void {
  /** VM names are unique per zone; `?zone=` picks one when several zones have the name. */
  const vmNamed = (name: string, zone: string | undefined): GcpVm => {
    const found = gcp.compute.all().filter((vm) => vm.name === name && (zone === undefined || vm.zone.name === zone));
    const vm = found[0];
    if (!vm) throw new VastError(404, "not_found", `No GCP instance ${name}${zone ? ` in ${zone}` : ""}.`);
    if (found.length > 1)
      throw new VastError(400, "invalid_args", `Instance ${name} exists in several zones: add ?zone=.`);
    return vm;
  };
  /** A GCP refusal (not Spot, not running) said in /sim's shape. */
  const simError = (error: unknown): never => {
    if (error instanceof GcpError) throw new VastError(error.status, "invalid_args", error.message);
    throw error;
  };

  app.get("/sim/gcp/instances", (request) => {
    authenticateAccount(ctx, request);
    return {
      project: gcp.project.projectId,
      ssh_host: gcp.compute.sshAddress,
      instances: gcp.compute.all().map((vm) => ({
        name: vm.name,
        id: vm.id,
        zone: vm.zone.name,
        status: statusOf(vm.phase),
        phase: vm.phase,
        status_message: vm.statusMessage ?? null,
        machine_type: vm.machineType.name,
        provisioning_model: vm.scheduling.provisioningModel,
        labels: vm.labels,
        ssh_port: vm.sshPort ?? null,
        ssh_down: vm.sshDown,
        ssh_connections: vm.ssh?.connectionCount ?? 0,
        sandbox_init_pid: vm.sandbox?.initPid ?? null,
        sandbox_address: vm.sandbox?.address ?? null,
        disk_dir: vm.dir,
        workspace: `${vm.dir}/workspace`,
      })),
    };
  });

  app.post<{ Params: NameParams; Querystring: ZoneQuery }>("/sim/gcp/instances/:name/preempt", async (request) => {
    authenticateAccount(ctx, request);
    const vm = vmNamed(request.params.name, request.query.zone);
    await gcp.compute.preempt(vm).catch(simError);
    // A Spot VM that asked for DELETE on preemption is gone by now.
    const status = vm.phase === "DELETED" ? "DELETED" : statusOf(vm.phase);
    return { success: true, name: vm.name, zone: vm.zone.name, status };
  });

  app.post<{ Params: NameParams; Querystring: ZoneQuery }>("/sim/gcp/instances/:name/ssh-down", async (request) => {
    authenticateAccount(ctx, request);
    const vm = vmNamed(request.params.name, request.query.zone);
    const body = parseBody(SshDownBody, request.body);
    await gcp.compute.setSshDown(vm, body.down);
    return { success: true, name: vm.name, ssh_down: vm.sshDown, ssh_port: vm.sshPort ?? null };
  });

  app.post("/sim/gcp/next-insert-error", (request) => {
    authenticateAccount(ctx, request);
    const body = parseBody(InsertErrorBody, request.body);
    const error = {
      code: body.code,
      message: body.message ?? `The zone does not have enough resources (${body.code}).`,
    };
    gcp.compute.failNextInsert(error);
    return { success: true, ...error };
  });
}

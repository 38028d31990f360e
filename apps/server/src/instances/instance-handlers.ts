import { billedSeconds, machineCost, roundCostUsd, type InstanceStatus } from "@dumont/core";
import type { InstanceRow, SshKeyRow } from "@dumont/db";
import type { AnnotatedOffer } from "../instances/instance-service";
import type { HandlersFor } from "../http/handler-types";
import { iso, isoOrNull, type ServerContext } from "../server-context";

type Names =
  | "listOffers"
  | "createInstance"
  | "listInstances"
  | "getInstance"
  | "pauseInstance"
  | "resumeInstance"
  | "deleteInstance"
  | "installModel"
  | "addSshKey"
  | "listSshKeys"
  | "removeSshKey";

export function instanceHandlers(ctx: ServerContext): HandlersFor<Names> {
  const simulated = (row: InstanceRow) => ctx.markets.embedded !== undefined && row.market === "embedded";
  const view = (row: InstanceRow) => instanceView(row, simulated(row), ctx.now());
  return {
    listOffers: async ({ query }, { principal }) => {
      const { offers, market, emptyReason } = await ctx.instances.offers(principal.user.id, query);
      return { offers: offers.map(offerView), count: offers.length, market, empty_reason: emptyReason };
    },
    createInstance: async ({ body }, { principal }) => {
      const row = await ctx.instances.create(principal.user.id, body);
      await ctx.standby.provisionIfAutomatic(principal.user.id, row.id, body.standby);
      return view(row);
    },
    listInstances: async ({ query }, { principal }) => {
      const rows = await ctx.repos.instances.listOwned(principal.user.id, query.status);
      return { instances: rows.map(view), count: rows.length };
    },
    getInstance: async ({ params }, { principal }) => view(await ctx.instances.get(principal.user.id, params.id)),
    pauseInstance: async ({ params }, { principal }) =>
      view(await ctx.instances.act(principal.user.id, params.id, "pause")),
    resumeInstance: async ({ params }, { principal }) =>
      view(await ctx.instances.act(principal.user.id, params.id, "resume")),
    deleteInstance: async ({ params, query }, { principal }) => {
      const userId = principal.user.id;
      // Kept first, so the standby controller never sees the GPU going without knowing it stays.
      if (query.keep_standby) await ctx.standby.onInstanceDeleted(userId, params.id, true);
      const row = await ctx.instances.act(userId, params.id, "delete");
      if (!query.keep_standby) await ctx.standby.onInstanceDeleted(userId, row.id, false);
      return view(row);
    },
    installModel: async ({ params, body }, { principal }) => {
      const result = await ctx.models.install(principal.user.id, params.id, body.model);
      const row = await ctx.instances.get(principal.user.id, params.id);
      return { ...result, simulated: simulated(row) };
    },
    addSshKey: async ({ body }, { principal }) => {
      const { key, machines } = await ctx.sshKeys.add(principal.user.id, body.name, body.public_key);
      return { ...sshKeyView(key), machines: { updated: machines.done, not_updated: machines.failed } };
    },
    listSshKeys: async (_input, { principal }) => {
      const keys = await ctx.sshKeys.list(principal.user.id);
      return { ssh_keys: keys.map(sshKeyView), count: keys.length };
    },
    removeSshKey: async ({ params }, { principal }) => {
      const machines = await ctx.sshKeys.remove(principal.user.id, params.id);
      const kept = machines.failed.length;
      return {
        success: true,
        message:
          `SSH key ${params.id} removed` +
          (machines.done.length > 0 ? `; detached from ${machines.done.length} machine(s)` : "") +
          (kept > 0
            ? `; ${kept} machine(s) still accept it until destroyed: ${machines.failed.map((f) => f.instance_id).join(", ")}`
            : ""),
        machines: { updated: machines.done, not_updated: machines.failed },
      };
    },
  };
}

function offerView(offer: AnnotatedOffer) {
  return {
    id: offer.id,
    provider: offer.provider,
    machine_id: offer.machineId,
    gpu_name: offer.gpuName,
    num_gpus: offer.numGpus,
    gpu_ram: offer.gpuRamGb,
    cpu_cores: offer.cpuCores,
    cpu_ram: offer.cpuRamGb,
    disk_space: offer.diskGb,
    priced_disk_gb: offer.pricedDiskGb,
    storage_cost: offer.storageCostPerGbMonth,
    inet_down: offer.inetDownMbps,
    inet_up: offer.inetUpMbps,
    dph_total: offer.pricePerHour,
    min_bid: offer.minBid,
    geolocation: offer.geolocation,
    reliability: offer.reliability,
    verified: offer.verified,
    cuda_version: offer.cudaVersion,
    is_blacklisted: offer.isBlacklisted,
    blacklist_reason: offer.blacklistReason,
    success_rate: offer.successRate,
    total_attempts: offer.totalAttempts,
    reliability_status: offer.reliabilityStatus,
  };
}

export function instanceView(row: InstanceRow, simulated: boolean, now: number) {
  const uptime = billedSeconds(row, now);
  const sshCommand = row.ssh_host && row.ssh_port ? `ssh -p ${row.ssh_port} root@${row.ssh_host}` : null;
  return {
    id: row.id,
    status: row.status as InstanceStatus,
    provider: row.provider,
    simulated,
    machine_id: row.machine_id,
    offer_id: row.offer_id,
    label: row.user_label ?? row.label,
    gpu_name: row.gpu_name,
    num_gpus: row.num_gpus,
    dph_total: row.price_per_hour,
    interruptible: row.bid_price !== null,
    image: row.image,
    disk_gb: row.disk_gb,
    geolocation: row.geolocation,
    ssh_host: row.ssh_host,
    ssh_port: row.ssh_port,
    ssh_command: row.status === "running" ? sshCommand : null,
    status_message: row.status_message,
    error: row.error,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    ready_at: isoOrNull(row.ready_at),
    uptime_seconds: uptime === null ? null : Math.round(uptime * 10) / 10,
    cost_usd: roundCostUsd(machineCost(row, now)),
  };
}

function sshKeyView(row: SshKeyRow) {
  return {
    id: row.id,
    name: row.name,
    fingerprint: row.fingerprint,
    public_key: row.public_key,
    created_at: iso(row.created_at),
  };
}

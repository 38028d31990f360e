import { setTimeout as sleep } from "node:timers/promises";
import { DumontError, formatScalar } from "@dumont/core";
import type {
  AccountBalance,
  CreateMachineRequest,
  Machine,
  MachineState,
  Offer,
  OfferQuery,
  Provider,
  ProviderCapabilities,
} from "../provider";
import { countryOf } from "../regions";
import { VastHttp, type VastHttpOptions } from "./vast-http";
import {
  VastAttachedKey,
  VastCreateReply,
  VastInstance,
  VastInstanceList,
  VastInstanceSshKeys,
  VastOffer,
  VastUser,
} from "./vast-schemas";

export interface VastProviderOptions extends VastHttpOptions {
  /** True when the base URL is Dumont's local marketplace (shown to users everywhere). */
  simulated: boolean;
  /** Polls while confirming a destroy (Vast is eventually consistent). */
  confirmPollMs?: number;
}

/** Vast.ai through its REST API; the local marketplace answers the same API. */
export class VastProvider implements Provider {
  readonly name = "vast.ai";
  readonly capabilities: ProviderCapabilities;
  private readonly http: VastHttp;

  constructor(private readonly options: VastProviderOptions) {
    this.http = new VastHttp(options);
    this.capabilities = {
      supportsPause: true,
      supportsInterruptible: true,
      supportsGpuMetrics: true,
      simulated: options.simulated,
      supportsSshKeyAttach: true,
    };
  }

  async searchOffers(query: OfferQuery): Promise<Offer[]> {
    const body = buildSearchBody(query);
    const reply = await this.http.request({ method: "POST", path: "/api/v0/bundles/", body, idempotent: true });
    if (reply.gone) return [];
    const raw = Array.isArray(reply.body.offers) ? reply.body.offers : [];
    const offers: Offer[] = [];
    for (const item of raw) {
      const parsed = VastOffer.safeParse(item);
      if (parsed.success) offers.push(toOffer(parsed.data, query.machineType, query.allocatedStorageGb));
    }
    // Vast silently drops filters it does not apply: check every one we care about ourselves.
    const kept = offers.filter((offer) => satisfies(offer, query));
    kept.sort(query.order === "price" ? (a, b) => a.pricePerHour - b.pricePerHour : () => 0);
    return kept.slice(0, query.limit);
  }

  async createMachine(request: CreateMachineRequest): Promise<{ machineId: string }> {
    const env = { ...request.env };
    const body: Record<string, unknown> = {
      client_id: "me",
      image: request.image,
      disk: request.diskGb,
      label: request.label,
      env,
      runtype: "ssh_direc ssh_proxy",
      ...(request.onstart ? { onstart: request.onstart } : {}),
      ...(request.bidPricePerHour !== undefined ? { price: request.bidPricePerHour } : {}),
      // Fail instead of silently creating a stopped machine we would pay storage for.
      cancel_unavail: true,
    };
    const reply = await this.http.request({
      method: "PUT",
      path: `/api/v0/asks/${encodeURIComponent(request.offerId)}/`,
      body,
      idempotent: false,
    });
    if (reply.gone) throw new DumontError({ code: "OFFER_UNAVAILABLE", message: `offer ${request.offerId} is gone` });
    const created = VastCreateReply.parse(reply.body);
    if (created.new_contract === undefined) {
      throw new DumontError({
        code: created.error === "no_such_ask" ? "OFFER_UNAVAILABLE" : "PROVIDER_ERROR",
        message: `renting offer ${request.offerId} failed: ${created.msg ?? created.error ?? "no contract id"}`,
      });
    }
    const machineId = String(created.new_contract);
    if (created.success === false) {
      // An insufficient bid still creates a (stopped) contract: remove it so it bills nothing.
      await this.destroyMachine(machineId);
      throw new DumontError({
        code: "OFFER_UNAVAILABLE",
        message: `offer ${request.offerId} could not start: ${created.msg ?? created.error ?? "refused"}`,
        details: { provider_error: created.error ?? null },
      });
    }
    try {
      for (const key of request.sshPublicKeys) await this.attachSshKey(machineId, key);
    } catch (error) {
      // A machine no key opens is of no use, and the caller never learns its id: remove it.
      await this.destroyMachine(machineId).catch(() => undefined);
      throw error;
    }
    return { machineId };
  }

  // Vast's docs disagree on whether account keys reach running instances (vast-api.md §3.7), so
  // keys always go to each instance explicitly.
  async attachSshKey(machineId: string, publicKey: string): Promise<void> {
    const reply = await this.http.request({
      method: "POST",
      path: `/api/v0/instances/${encodeURIComponent(machineId)}/ssh/`,
      body: { ssh_key: publicKey.trim() },
      idempotent: true,
      goneErrors: ["no_such_instance", "not_found"],
    });
    if (reply.gone) throw new DumontError({ code: "NOT_FOUND", message: `machine ${machineId} no longer exists` });
    if (reply.body.success === false) {
      throw new DumontError({
        code: "PROVIDER_ERROR",
        message: `the marketplace refused the SSH key for ${machineId}: ${formatScalar(reply.body.msg ?? reply.body.error ?? "")}`,
      });
    }
  }

  /** Vast removes by its own key id, so the instance's keys are listed and matched by key body. */
  async detachSshKey(machineId: string, publicKey: string): Promise<boolean> {
    const path = `/api/v0/instances/${encodeURIComponent(machineId)}/ssh/`;
    const listed = await this.http.request({ method: "GET", path, idempotent: true, goneErrors: ["no_such_instance"] });
    if (listed.gone) return false;
    const raw = VastInstanceSshKeys.parse(listed.body).ssh_keys;
    const wanted = keyBody(publicKey);
    let removed = false;
    for (const item of Array.isArray(raw) ? raw : []) {
      const key = VastAttachedKey.safeParse(item);
      if (!key.success || keyBody(key.data.public_key ?? "") !== wanted) continue;
      const reply = await this.http.request({
        method: "DELETE",
        path: `${path}${encodeURIComponent(String(key.data.id))}/`,
        idempotent: true,
        goneErrors: ["no_such_ssh_key", "no_such_instance"],
      });
      if (!reply.gone) removed = true;
    }
    return removed;
  }

  async getMachine(machineId: string): Promise<Machine | undefined> {
    const reply = await this.http.request({
      method: "GET",
      path: `/api/v0/instances/${encodeURIComponent(machineId)}/`,
      query: { owner: "me" },
      idempotent: true,
      goneErrors: ["no_such_instance", "not_found"],
    });
    if (reply.gone || reply.body.instances === null || reply.body.instances === undefined) return undefined;
    const parsed = VastInstance.safeParse(reply.body.instances);
    return parsed.success ? toMachine(parsed.data) : undefined;
  }

  async listMachines(labelPrefix: string): Promise<Machine[]> {
    const machines: Machine[] = [];
    let token: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const reply = await this.http.request({
        method: "GET",
        path: "/api/v1/instances/",
        query: { limit: "25", ...(token ? { after_token: token } : {}) },
        idempotent: true,
      });
      if (reply.gone) break;
      const list = VastInstanceList.parse(reply.body);
      for (const item of list.instances ?? []) {
        const parsed = VastInstance.safeParse(item);
        if (parsed.success && (parsed.data.label ?? "").startsWith(labelPrefix)) machines.push(toMachine(parsed.data));
      }
      if (!list.next_token) break;
      token = list.next_token;
    }
    return machines;
  }

  async setRunning(machineId: string, running: boolean): Promise<{ queued: boolean }> {
    const reply = await this.http.request({
      method: "PUT",
      path: `/api/v0/instances/${encodeURIComponent(machineId)}/`,
      body: { state: running ? "running" : "stopped" },
      idempotent: true,
      goneErrors: ["no_such_instance"],
    });
    if (reply.gone) throw new DumontError({ code: "NOT_FOUND", message: `machine ${machineId} no longer exists` });
    const queued = reply.body.success === false && /queued|unavailable/i.test(formatScalar(reply.body.msg ?? ""));
    if (reply.body.success === false && !queued) {
      throw new DumontError({
        code: "PROVIDER_ERROR",
        message: `the marketplace refused to ${running ? "start" : "stop"} ${machineId}: ${formatScalar(reply.body.msg ?? reply.body.error ?? "")}`,
      });
    }
    return { queued };
  }

  async destroyMachine(machineId: string): Promise<void> {
    await this.http.request({
      method: "DELETE",
      path: `/api/v0/instances/${encodeURIComponent(machineId)}/`,
      body: {},
      idempotent: true,
      goneErrors: ["no_such_instance", "not_found"],
    });
    // Confirm: a destroy is only done when the marketplace stops showing the machine.
    for (let attempt = 0; attempt < 20; attempt++) {
      const machine = await this.getMachine(machineId);
      if (!machine) return;
      await sleep(this.options.confirmPollMs ?? 500);
    }
    throw new DumontError({ code: "PROVIDER_ERROR", message: `machine ${machineId} still exists after destroy` });
  }

  async balance(): Promise<AccountBalance> {
    const reply = await this.http.request({ method: "GET", path: "/api/v0/users/current/", idempotent: true });
    if (reply.gone) throw new DumontError({ code: "PROVIDER_ERROR", message: "the marketplace has no such user" });
    const user = VastUser.parse(reply.body);
    return {
      credit: user.credit,
      balance: user.balance,
      balanceThreshold: user.balance_threshold ?? 0,
      email: user.email,
    };
  }
}

export function buildSearchBody(query: OfferQuery): Record<string, unknown> {
  const body: Record<string, unknown> = {
    rentable: { eq: true },
    rented: { eq: false },
    type: query.machineType === "interruptible" ? "bid" : "on-demand",
    order: query.order === "price" ? [["dph_total", "asc"]] : [["score", "desc"]],
    // Ask for more than we need: we filter again on our side.
    limit: Math.min(Math.max(query.limit * 4, 64), 10_000),
  };
  if (query.gpuName) body.gpu_name = { eq: query.gpuName.replace(/_/g, " ") };
  if (query.numGpus !== undefined) body.num_gpus = { eq: query.numGpus };
  if (query.minGpuRamGb !== undefined) body.gpu_ram = { gte: query.minGpuRamGb * 1000 };
  if (query.maxPricePerHour !== undefined) body.dph_total = { lte: query.maxPricePerHour };
  if (query.countries?.length) body.geolocation = { in: query.countries };
  if (query.minReliability !== undefined) body.reliability2 = { gte: query.minReliability };
  if (query.verifiedOnly) body.verified = { eq: true };
  if (query.minDiskGb !== undefined) body.disk_space = { gte: query.minDiskGb };
  if (query.offerId !== undefined && /^\d+$/.test(query.offerId)) body.id = { eq: Number(query.offerId) };
  // Prices (dph_total, and the price filter) then include the disk that will really be rented.
  if (query.allocatedStorageGb !== undefined) body.allocated_storage = query.allocatedStorageGb;
  const inet: Record<string, number> = {};
  if (query.minInetDownMbps !== undefined) inet.gte = query.minInetDownMbps;
  if (query.maxInetDownMbps !== undefined) inet.lt = query.maxInetDownMbps;
  if (Object.keys(inet).length) body.inet_down = inet;
  return body;
}

function toOffer(raw: VastOffer, machineType: OfferQuery["machineType"], diskGb: number | undefined): Offer {
  const minBid = raw.min_bid ?? null;
  const storage = raw.storage_cost ?? null;
  return {
    id: String(raw.ask_contract_id ?? raw.id),
    provider: "vast.ai",
    machineId: String(raw.machine_id ?? ""),
    gpuName: raw.gpu_name,
    numGpus: raw.num_gpus ?? 1,
    gpuRamGb: Math.round((raw.gpu_ram ?? 0) / 100) / 10,
    cpuCores: raw.cpu_cores_effective ?? raw.cpu_cores ?? null,
    cpuRamGb: raw.cpu_ram === null || raw.cpu_ram === undefined ? null : Math.round(raw.cpu_ram / 100) / 10,
    diskGb: raw.disk_space ?? 0,
    inetDownMbps: raw.inet_down ?? 0,
    inetUpMbps: raw.inet_up ?? 0,
    pricePerHour: billedPrice(raw, machineType, diskGb),
    minBid,
    storageCostPerGbMonth: storage,
    pricedDiskGb: diskGb ?? null,
    geolocation: raw.geolocation ?? "",
    countryCode: countryOf(raw.geolocation),
    reliability: raw.reliability2 ?? raw.reliability ?? 0,
    verified: raw.verified ?? raw.verification === "verified",
    cudaVersion: raw.cuda_max_good === null || raw.cuda_max_good === undefined ? null : String(raw.cuda_max_good),
  };
}

/**
 * What the machine will bill per hour with `diskGb` of disk (vast-api.md §2: dph_total = dph_base
 * + GB × storage_cost ÷ 720; for bids the compute part is min_bid). Computed from the parts when
 * the market gives them, so the price holds even if the market ignored `allocated_storage`.
 */
function billedPrice(raw: VastOffer, machineType: OfferQuery["machineType"], diskGb: number | undefined): number {
  const base = raw.dph_base ?? null;
  const storage = raw.storage_cost ?? null;
  const bid = machineType === "interruptible" ? (raw.min_bid ?? null) : null;
  const compute = bid ?? base;
  if (diskGb !== undefined && compute !== null && storage !== null)
    return Math.round((compute + (diskGb * storage) / 720) * 1_000_000) / 1_000_000;
  if (bid !== null) return bid;
  return raw.dph_total ?? 0;
}

/** Our own check of each filter, because the marketplace may ignore some. */
export function satisfies(offer: Offer, query: OfferQuery): boolean {
  if (query.gpuName && offer.gpuName.toLowerCase() !== query.gpuName.replace(/_/g, " ").toLowerCase()) return false;
  if (query.numGpus !== undefined && offer.numGpus !== query.numGpus) return false;
  if (query.minGpuRamGb !== undefined && offer.gpuRamGb + 0.5 < query.minGpuRamGb) return false;
  if (query.maxPricePerHour !== undefined && offer.pricePerHour > query.maxPricePerHour) return false;
  if (query.countries?.length && !(offer.countryCode && query.countries.includes(offer.countryCode))) return false;
  if (query.minReliability !== undefined && offer.reliability < query.minReliability) return false;
  if (query.verifiedOnly && !offer.verified) return false;
  if (query.minDiskGb !== undefined && offer.diskGb < query.minDiskGb) return false;
  if (query.minInetDownMbps !== undefined && offer.inetDownMbps < query.minInetDownMbps) return false;
  if (query.maxInetDownMbps !== undefined && offer.inetDownMbps >= query.maxInetDownMbps) return false;
  if (query.offerId !== undefined && offer.id !== query.offerId) return false;
  return true;
}

/** Reads Vast's three status words as one MachineState (vast-api.md §3.4–3.6). */
export function machineState(raw: VastInstance): MachineState {
  const actual = raw.actual_status ?? null;
  const intended = raw.intended_status ?? null;
  const cur = raw.cur_state ?? null;
  const message = (raw.status_msg ?? "").toLowerCase();
  if (
    raw.is_bid &&
    cur === "stopped" &&
    intended === "stopped" &&
    raw.next_state === "stopped" &&
    /outbid/.test(message)
  ) {
    return "outbid";
  }
  if (actual === "offline" || actual === "unknown") return "offline";
  if (/error|failed|failure|exception|oci runtime|pull access denied|no such image/.test(message)) return "failed";
  if (intended === "running" && cur === "stopped") return "queued";
  switch (actual) {
    case null:
      return intended === "stopped" ? "stopped" : "provisioning";
    case "created":
    case "loading":
    case "rebooting":
    case "restarting":
    case "recycling":
      return "loading";
    case "running":
      return "running";
    case "stopped":
    case "frozen":
      return "stopped";
    case "exited":
      return intended === "stopped" ? "stopped" : "failed";
    default:
      return "provisioning";
  }
}

function toMachine(raw: VastInstance): Machine {
  return {
    id: String(raw.id),
    label: raw.label ?? null,
    state: machineState(raw),
    statusMessage: raw.status_msg ?? null,
    gpuName: raw.gpu_name ?? "unknown",
    numGpus: raw.num_gpus ?? 1,
    pricePerHour: raw.dph_total ?? 0,
    interruptible: raw.is_bid ?? false,
    hostMachineId: String(raw.machine_id ?? ""),
    geolocation: raw.geolocation ?? null,
    ssh: sshEndpoint(raw),
    raw: {
      actualStatus: raw.actual_status ?? null,
      intendedStatus: raw.intended_status ?? null,
      curState: raw.cur_state ?? null,
    },
  };
}

/** `type base64` of a public key line: the comment does not make it another key. */
function keyBody(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** Vast's CLI rule: the direct port when 22/tcp is mapped, else the proxy host and port. */
export function sshEndpoint(raw: VastInstance): Machine["ssh"] {
  const direct = raw.ports?.["22/tcp"]?.[0];
  const ip = raw.public_ipaddr?.trim();
  if (direct && ip) return { host: ip, port: direct.HostPort, user: "root" };
  if (raw.ssh_host && raw.ssh_port) return { host: raw.ssh_host.trim(), port: raw.ssh_port, user: "root" };
  return null;
}

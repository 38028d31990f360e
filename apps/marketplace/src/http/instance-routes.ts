import type { FastifyInstance, FastifyReply } from "fastify";
import type { Account } from "../accounts";
import { instanceObject } from "../instances/instance-view";
import { QUEUED_MSG, type CreateRequest } from "../instances/instance-manager";
import type { Instance } from "../instances/instance";
import type { MarketContext } from "../market-context";
import { round } from "../random";
import { parsePublicKey } from "../ssh/authorized-keys";
import { authenticate, authenticateAccount, type Principal } from "./auth";
import { listV1 } from "./instance-list";
import { ownedInstance } from "./owned-instance";
import { BidBody, ChangeInstanceBody, CreateInstanceBody, SshKeyBody } from "./schemas";
import { noSuchInstance, parseBody, pathId, VastError } from "./vast-error";
import type { z } from "zod";

const DEFAULT_DISK_GB = 10;
const MAX_ONSTART = 4048;

interface IdParams {
  id: string;
}

/** The instance lifecycle endpoints (vast-api.md §3.1). */
export function registerInstanceRoutes(app: FastifyInstance, ctx: MarketContext): void {
  const view = (instance: Instance) => instanceObject(instance, ctx.clock.now(), ctx.host);

  /** The caller's instance, or 404 `no_such_instance` (another account's reads as unknown). */
  const owned = (principal: Principal, id: number): Instance => {
    const instance = ctx.manager.get(id);
    if (!instance || instance.account !== principal.account) throw noSuchInstance(id);
    if (principal.instanceId !== undefined && principal.instanceId !== id) throw noSuchInstance(id);
    return instance;
  };

  app.put<{ Params: IdParams }>("/api/v0/asks/:id/", async (request, reply) => {
    const account = authenticateAccount(ctx, request);
    const offerId = pathId(request.params.id, "ask");
    const body = parseBody(CreateInstanceBody, request.body);
    const slot = ctx.market.slot(offerId);
    if (!slot) {
      throw new VastError(
        404,
        "no_such_ask",
        `error 404/3603: no_such_ask Instance type by id ${offerId} is not available.`,
        {
          ask_id: offerId,
        },
      );
    }
    // Book charges up to now so the credit check sees the current balance.
    ctx.manager.billing.accrue(account);
    const createRequest = toCreateRequest(body, account, slot.diskSpaceGb);
    const result = ctx.manager.create(account, slot, createRequest);
    switch (result.kind) {
      case "unavailable":
        throw new VastError(
          410,
          "no_such_ask",
          `error 410/3907: no_such_ask Instance type ${offerId} is no longer available.`,
          {
            ask_id: offerId,
          },
        );
      case "bid_too_low": {
        const msg = `Your bid of $${round(createRequest.bid ?? 0, 4)}/hr is below the minimum bid of $${round(result.minBid, 4)}/hr for offer ${offerId}.`;
        if (!result.instance) throw new VastError(400, "bid_too_low", msg, { ask_id: offerId });
        // The instance exists (stopped) and the answer says so: the client must destroy it or raise the bid.
        return {
          success: false,
          error: "bid_too_low",
          msg,
          new_contract: result.instance.id,
          instance_api_key: result.instance.instanceApiKey,
        };
      }
      case "created": {
        if (ctx.apiFaults.lostCreateReply > 0 && ctx.apiFaults.rng.chance(ctx.apiFaults.lostCreateReply)) {
          // The create happened; only its answer is lost (vast-api.md §3.13: list by label before retrying).
          return gatewayTimeout(reply);
        }
        return { success: true, new_contract: result.instance.id, instance_api_key: result.instance.instanceApiKey };
      }
    }
  });

  app.get("/api/v1/instances/", (request) => {
    const principal = authenticate(ctx, request);
    return listV1(ctx, principal, request.query as Record<string, unknown>, view);
  });

  app.get("/api/v0/instances/", (_request, reply) =>
    reply.status(410).send({
      success: false,
      error: "deprecated_endpoint",
      msg: "/api/v0/instances/ is deprecated. Use /api/v1/instances/ instead.",
    }),
  );

  app.get<{ Params: IdParams }>("/api/v0/instances/:id/", (request) => {
    const principal = authenticate(ctx, request);
    const id = pathId(request.params.id, "instance");
    const instance = ctx.manager.get(id);
    const visible = instance && instance.account === principal.account && (principal.instanceId ?? id) === id;
    // A gone (or foreign) id reads as {"instances": null}, the singular object under a plural key otherwise.
    return { instances: visible ? view(instance) : null };
  });

  app.put<{ Params: IdParams }>("/api/v0/instances/:id/", async (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    const body = parseBody(ChangeInstanceBody, request.body);
    if (body.state === undefined && body.label === undefined) {
      throw new VastError(400, "invalid_args", "Nothing to change: send state and/or label.");
    }
    if (body.label !== undefined) instance.label = body.label;
    if (body.state === "stopped") {
      await ctx.manager.stop(instance);
    } else if (body.state === "running") {
      const result = ctx.manager.start(instance);
      switch (result) {
        case "queued":
          // Vast answers 2xx and queues the start; it happens by itself when the GPU frees.
          return { success: false, msg: QUEUED_MSG };
        case "no_credit":
          throw new VastError(
            400,
            "insufficient_credit",
            "Insufficient credit: add credit before starting an instance.",
          );
        case "started":
        case "already":
          break;
      }
    }
    return { success: true };
  });

  app.delete<{ Params: IdParams }>("/api/v0/instances/:id/", async (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    await ctx.manager.destroy(instance);
    return { success: true };
  });

  app.put<{ Params: IdParams }>("/api/v0/instances/bid_price/:id/", (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    const { price } = parseBody(BidBody, request.body);
    if (!(price >= 0.001 && price <= 32)) throw new VastError(400, "invalid_args", "Please set a bid price >= 0.001.");
    if (instance.bid === null) {
      throw new VastError(
        400,
        "invalid_args",
        `Instance ${instance.id} is on-demand; only interruptible instances have a bid.`,
      );
    }
    ctx.manager.setBid(instance, price);
    return { success: true };
  });

  app.put<{ Params: IdParams }>("/api/v0/instances/reboot/:id/", (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    if (!ctx.manager.reboot(instance))
      throw new VastError(400, "invalid_args", `Instance ${instance.id} is not running.`);
    return { success: true };
  });

  app.put<{ Params: IdParams }>("/api/v0/instances/recycle/:id/", async (request) => {
    const principal = authenticate(ctx, request);
    // Vast's not-found for recycle is 400 invalid_id (vast-api.md §3.1 #11).
    const instance = ownedInstance(ctx, principal, pathId(request.params.id, "instance"), (id) => {
      return new VastError(400, "invalid_id", `Invalid instance id ${id}.`);
    });
    if (!(await ctx.manager.recycle(instance)))
      throw new VastError(400, "invalid_args", `Instance ${instance.id} is not running.`);
    return { success: true };
  });

  app.post<{ Params: IdParams }>("/api/v0/instances/:id/ssh/", (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    const { ssh_key } = parseBody(SshKeyBody, request.body);
    if (!parsePublicKey(ssh_key)) throw new VastError(400, "invalid_args", "Invalid SSH public key.");
    if (!instance.sshKeys.some((k) => k.publicKey.trim() === ssh_key)) {
      instance.sshKeys.push({ id: ctx.accounts.allocateKeyId(), publicKey: ssh_key });
    }
    return { success: true, msg: "SSH key attached to instance." };
  });

  app.get<{ Params: IdParams }>("/api/v0/instances/:id/ssh/", (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    // Vast returns the list as a JSON-encoded string (vast-api.md §3.13 #10).
    const keys = instance.sshKeys.map((k) => ({ id: k.id, name: null, public_key: k.publicKey }));
    return { success: true, ssh_keys: JSON.stringify(keys) };
  });

  app.delete<{ Params: IdParams & { keyId: string } }>("/api/v0/instances/:id/ssh/:keyId/", (request) => {
    const principal = authenticate(ctx, request);
    const instance = owned(principal, pathId(request.params.id, "instance"));
    const keyId = pathId(request.params.keyId, "ssh key");
    const index = instance.sshKeys.findIndex((k) => k.id === keyId);
    if (index < 0)
      throw new VastError(404, "no_such_ssh_key", `SSH key ${keyId} is not attached to instance ${instance.id}.`);
    instance.sshKeys.splice(index, 1);
    return { success: true, msg: "SSH key removed from instance." };
  });
}

function gatewayTimeout(reply: FastifyReply): FastifyReply {
  return reply
    .status(504)
    .type("text/html")
    .send(
      "<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>",
    );
}

function toCreateRequest(
  body: z.output<typeof CreateInstanceBody>,
  account: Account,
  offerDiskGb: number,
): CreateRequest {
  if (!body.image) {
    throw new VastError(
      400,
      "invalid_args",
      body.template_hash_id ? "Templates are not supported by the local marketplace: send image." : "image: required",
    );
  }
  const diskGb = body.disk ?? DEFAULT_DISK_GB;
  if (diskGb > offerDiskGb) {
    throw new VastError(
      400,
      "invalid_args",
      `Requested disk of ${diskGb} GB is more than the ${offerDiskGb} GB this offer has.`,
    );
  }
  const bid = body.price ?? null;
  if (bid !== null && !(bid >= 0.001 && bid <= 128)) {
    throw new VastError(400, "invalid_price", "Please set a bid price >= 0.001.");
  }
  if (body.vm === true && account.sshKeys.length === 0) {
    throw new VastError(
      400,
      "no_ssh_key_for_vm",
      "A VM needs an SSH key on the account: add one with POST /api/v0/ssh/.",
    );
  }
  if (body.onstart && body.onstart.length > MAX_ONSTART) {
    throw new VastError(
      400,
      "invalid_args",
      `onstart is ${body.onstart.length} characters; the limit is ${MAX_ONSTART}.`,
    );
  }
  if (account.credit <= 0) {
    throw new VastError(
      400,
      "insufficient_credit",
      "Insufficient credit: your balance is $0 or less. Add credit to rent.",
    );
  }
  const env: Record<string, string> = {};
  const extraEnv: [string, string][] = [];
  const exposedPorts: number[] = [];
  if (body.env && typeof body.env === "object") {
    for (const [key, raw] of Object.entries(body.env)) {
      const value = raw === null ? "" : String(raw);
      extraEnv.push([key, value]);
      const port = /^-p\s+(\d+):(\d+)(\/tcp)?$/.exec(key.trim());
      if (port?.[2]) exposedPorts.push(Number(port[2]));
      else if (!key.startsWith("-")) env[key] = value;
    }
  }
  const targetState = body.target_state ?? "running";
  return {
    image: body.image,
    diskGb,
    label: body.label ?? null,
    onstart: body.onstart ?? null,
    env,
    extraEnv,
    exposedPorts,
    runtype: body.runtype ?? (body.args || body.args_str ? "args" : "ssh_direc ssh_proxy"),
    args: body.args ?? null,
    bid,
    targetState,
    // Default false for interruptibles, true for on-demand that should run (vast-api.md §3.2).
    cancelUnavail: body.cancel_unavail ?? (bid === null && targetState === "running"),
  };
}

import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { parseExecuteCommand } from "../instances/instance-command";
import { TooManyPendingResults } from "../instances/result-store";
import type { Instance } from "../instances/instance";
import type { MarketContext } from "../market-context";
import type { MachineRun } from "../sandbox/run-in-machine";
import { authenticate } from "./auth";
import { ownedInstance } from "./owned-instance";
import { parseBody, pathId, VastError } from "./vast-error";

/** What execute answers as the writable root; the official CLI strips it from the output. */
const WRITEABLE_PATH = "/workspace";
const EXECUTE_LIMITS = { timeoutMs: 60_000, maxBytes: 1024 * 1024 };
const LOG_READ_LIMITS = { timeoutMs: 15_000, maxBytes: 4 * 1024 * 1024 };
const DEFAULT_TAIL = 1000;
const MAX_TAIL = 100_000;

const ExecuteBody = z.looseObject({ command: z.string() });

/** Vast sends these as strings (`"tail": "1000"`, `"daemon_logs": "true"`); numbers and booleans work too. */
const LogsBody = z.looseObject({
  tail: z.union([z.string(), z.number()]).nullable().optional(),
  filter: z.string().nullable().optional(),
  daemon_logs: z.union([z.boolean(), z.string()]).nullable().optional(),
});

/**
 * Execute and logs (vast-api.md §3.1 #13–14, §3.8): both answer a `result_url` at once and put the
 * text there when it is ready; the URL answers 404 until then and is fetched without a key, like
 * Vast's pre-signed object-storage URLs. Commands run in the machine through the same entry as SSH
 * commands (`InstanceManager.runInInstance`), so they can reach nothing a user's shell cannot.
 */
export function registerCommandRoutes(app: FastifyInstance, ctx: MarketContext): void {
  app.put<{ Params: { id: string } }>("/api/v0/instances/command/:id/", (request) => {
    const principal = authenticate(ctx, request);
    const instance = ownedInstance(ctx, principal, pathId(request.params.id, "instance"));
    const { command } = parseBody(ExecuteBody, request.body);
    const parsed = parseExecuteCommand(command);
    if (!parsed.ok) throw new VastError(400, "invalid_args", parsed.reason);
    requireRunning(instance, "execute");
    const token = openResult(ctx, String(principal.account.id));
    void ctx.manager
      .runInInstance(instance, parsed.argv, EXECUTE_LIMITS)
      .then((run) => ctx.results.complete(token, run ? executeText(run) : "sandbox: the machine stopped\n"))
      .catch((error: unknown) => ctx.results.complete(token, `sandbox: ${String(error)}\n`));
    return {
      success: true,
      writeable_path: WRITEABLE_PATH,
      result_url: resultUrl(request, token),
      msg: "Command is executing; its output will be at result_url in a few seconds.",
    };
  });

  app.put<{ Params: { id: string } }>("/api/v0/instances/request_logs/:id/", (request) => {
    const principal = authenticate(ctx, request);
    // Vast's not-found for this endpoint is 404 invalid_id (vast-api.md §3.1 #13).
    const instance = ownedInstance(ctx, principal, pathId(request.params.id, "instance"), (id) => {
      return new VastError(404, "invalid_id", `Instance ${id} not found.`);
    });
    const body = parseBody(LogsBody, request.body);
    const tail = parseTail(body.tail);
    const filter = parseFilter(body.filter);
    const daemon = body.daemon_logs === true || body.daemon_logs === "true";
    const token = openResult(ctx, String(principal.account.id));
    void collectLogs(ctx, instance, daemon)
      .then((lines) => {
        const matching = filter === undefined ? lines : lines.filter((line) => line.includes(filter));
        const kept = tail === 0 ? [] : matching.slice(-tail);
        ctx.results.complete(token, kept.map((line) => `${line}\n`).join(""));
      })
      .catch((error: unknown) => ctx.results.complete(token, `logs unavailable: ${String(error)}\n`));
    return {
      success: true,
      result_url: resultUrl(request, token),
      msg: "Logs are being uploaded; fetch result_url in a few seconds.",
    };
  });

  // Outside /api/: not Vast's API but its object storage, so never faulted and never keyed.
  app.get<{ Params: { token: string } }>("/results/:token", (request, reply) => {
    const text = /^[0-9a-f]{32}$/.test(request.params.token) ? ctx.results.read(request.params.token) : undefined;
    if (text === undefined)
      return reply.status(404).type("text/plain").send("NoSuchKey: the result is not there (yet).\n");
    return reply.status(200).type("text/plain").send(text);
  });
}

function requireRunning(instance: Instance, what: string): void {
  if (instance.phase === "running" && instance.sandbox?.alive) return;
  throw new VastError(
    400,
    "invalid_args",
    `Instance ${instance.id} is not running (actual_status ${instance.actualStatus ?? "null"}): the local marketplace can ${what} only in a running machine.`,
  );
}

/** The URL the client fetches, on the address it reached the market at. */
function resultUrl(request: FastifyRequest, token: string): string {
  return `${request.protocol}://${request.host}/results/${token}`;
}

function executeText(run: MachineRun): string {
  let text = run.output;
  if (run.truncated) text += "\n[output truncated at 1 MiB]\n";
  if (run.timedOut) text += "\n[command killed after 60 s]\n";
  return text;
}

function parseTail(raw: string | number | null | undefined): number {
  if (raw === undefined || raw === null || raw === "") return DEFAULT_TAIL;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) throw new VastError(400, "invalid_args", `tail must be a number of lines, got "${text}".`);
  return Math.min(Number(text), MAX_TAIL);
}

/**
 * The filter is plain text a line must contain (as Vast's own grep-like filter is used), never a
 * regular expression: the lines are the account's own, and a pattern like `^(a+)+$` over them
 * would stall the whole market for every account.
 */
function parseFilter(raw: string | null | undefined): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (raw.length > 200) throw new VastError(400, "invalid_args", "filter is longer than 200 characters.");
  return raw;
}

/** A pending result for the caller's account, or Vast's rate-limit answer when it has too many. */
function openResult(ctx: MarketContext, accountId: string): string {
  try {
    return ctx.results.open(accountId);
  } catch (error) {
    if (error instanceof TooManyPendingResults)
      throw new VastError(429, "rate_limited", `${error.message}; retry shortly.`);
    throw error;
  }
}

/**
 * The daemon's lines, or the container's: its recorded starts and failures, then what `onstart`
 * printed, read inside the machine (a file there is the user's: the market never opens it itself,
 * so a planted link cannot make it read a host file).
 */
async function collectLogs(ctx: MarketContext, instance: Instance, daemon: boolean): Promise<string[]> {
  if (daemon) return [...ctx.logs.daemonLines(instance.id)];
  const lines = [...ctx.logs.containerLines(instance.id)];
  if (instance.onstart) {
    const run = await ctx.manager.runInInstance(
      instance,
      ["tail", "-n", String(MAX_TAIL), "/root/onstart.log"],
      LOG_READ_LIMITS,
    );
    if (run && run.exitCode === 0)
      lines.push(...run.output.split("\n").filter((line, i, all) => i < all.length - 1 || line !== ""));
  }
  return lines;
}

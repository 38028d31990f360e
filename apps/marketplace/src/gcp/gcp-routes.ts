/**
 * @module The emulated project's HTTP API on the market's own server: the OAuth token endpoint
 * (`POST /gcp/token`) and the Compute subset of gcp-wire.md under `/compute/v1`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { VastError } from "../http/vast-error";
import { GCP_ZONES, machineTypeNamed, zoneNamed, type GcpZone } from "./gcp-catalog";
import type { InsertRequest } from "./gcp-compute";
import type { GcpEmulation } from "./gcp-emulation";
import { GcpError, OAuthError, invalid, notFound, permissionDenied, unauthenticated } from "./gcp-errors";
import { parseListFilter } from "./gcp-list-filter";
import { operationView, type GcpOperation } from "./gcp-operations";
import type { GcpVm } from "./gcp-vm";
import { instanceView } from "./gcp-vm-view";

/** `operations/{op}/wait` answers by then at the latest (real time; GCP's own cap is 2 minutes). */
const OPERATION_WAIT_MS = 30_000;
const MAX_RESULTS = 500;
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const DEFAULT_IMAGE = "projects/debian-cloud/global/images/family/debian-12";

const InsertBody = z.looseObject({
  name: z.string().optional(),
  machineType: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  metadata: z
    .looseObject({ items: z.array(z.looseObject({ key: z.string(), value: z.string().optional() })).optional() })
    .optional(),
  disks: z
    .array(
      z.looseObject({
        boot: z.boolean().optional(),
        initializeParams: z
          .looseObject({
            diskSizeGb: z.union([z.string(), z.number()]).optional(),
            sourceImage: z.string().optional(),
          })
          .optional(),
      }),
    )
    .optional(),
  networkInterfaces: z
    .array(
      z.looseObject({
        accessConfigs: z.array(z.looseObject({ type: z.string().optional(), name: z.string().optional() })).optional(),
      }),
    )
    .optional(),
  scheduling: z
    .looseObject({
      provisioningModel: z.enum(["STANDARD", "SPOT"]).optional(),
      instanceTerminationAction: z.enum(["STOP", "DELETE"]).optional(),
      preemptible: z.boolean().optional(),
    })
    .optional(),
});

interface ZoneParams {
  project: string;
  zone: string;
}
interface InstanceParams extends ZoneParams {
  name: string;
}
interface OperationParams extends ZoneParams {
  operation: string;
}
interface ListQuery {
  filter?: string;
  maxResults?: string;
  pageToken?: string;
  requestId?: string;
}

export function registerGcpRoutes(app: FastifyInstance, gcp: GcpEmulation): void {
  // Its own scope: the token endpoint's form bodies and GCP's error shapes stay out of Vast's API.
  void app.register((scope, _options, done) => {
    scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(typeof body === "string" ? body : body.toString("utf8"))));
    });
    scope.setErrorHandler((error: unknown, request, reply) => sendGcpError(error, request, reply));
    // An `operations/…/wait` in flight answers at once when the market closes, instead of holding it.
    scope.addHook("preClose", (hookDone) => {
      gcp.operations.close();
      hookDone();
    });

    scope.post("/gcp/token", (request) => {
      const form = request.body && typeof request.body === "object" ? (request.body as Record<string, unknown>) : {};
      return gcp.tokens.grant(form);
    });

    registerComputeRoutes(scope, gcp);
    done();
  });
}

function registerComputeRoutes(scope: FastifyInstance, gcp: GcpEmulation): void {
  const base = "/compute/v1/projects/:project";
  const view = (vm: GcpVm) =>
    instanceView(vm, {
      computeUrl: gcp.computeUrl,
      projectId: gcp.project.projectId,
      sshAddress: gcp.compute.sshAddress,
    });
  const opView = (op: GcpOperation) => operationView(op, gcp.computeUrl, gcp.project.projectId);

  /** 401 without a live token, then 403 for any project but ours: checked before anything else. */
  const authorize = (request: FastifyRequest, permission: string, resource: string): void => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    if (!match?.[1] || !gcp.tokens.isValid(match[1])) throw unauthenticated();
    const project = (request.params as { project: string }).project;
    if (project !== gcp.project.projectId) throw permissionDenied(permission, resource);
  };
  const zoneOf = (name: string): GcpZone => {
    const zone = zoneNamed(name);
    if (!zone) throw invalid(`Invalid value for field 'zone': '${name}'. Unknown zone.`);
    return zone;
  };
  const instanceOf = (params: InstanceParams): GcpVm => {
    const zone = zoneOf(params.zone);
    const vm = gcp.compute.get(zone.name, params.name);
    if (!vm) throw notFound(`projects/${params.project}/zones/${params.zone}/instances/${params.name}`);
    return vm;
  };
  const instancePath = (p: InstanceParams) => `projects/${p.project}/zones/${p.zone}/instances/${p.name}`;
  /** A retry with the `requestId` of an earlier call gets that call's operation again (GCP's idempotency). */
  const once = (request: FastifyRequest<{ Querystring: ListQuery }>, act: () => GcpOperation) => {
    const requestId = request.query.requestId;
    const earlier = gcp.operations.forRequest(requestId);
    if (earlier) return opView(earlier);
    const op = act();
    gcp.operations.rememberRequest(requestId, op);
    return opView(op);
  };

  scope.post<{ Params: ZoneParams; Querystring: ListQuery }>(`${base}/zones/:zone/instances`, (request) => {
    const p = request.params;
    authorize(request, "compute.instances.create", `projects/${p.project}/zones/${p.zone}/instances`);
    const zone = zoneOf(p.zone);
    return once(request, () => gcp.compute.insert(parseInsert(zone, request.body)));
  });

  scope.get<{ Params: ZoneParams; Querystring: ListQuery }>(`${base}/zones/:zone/instances`, (request) => {
    const p = request.params;
    authorize(request, "compute.instances.list", `projects/${p.project}/zones/${p.zone}`);
    const zone = zoneOf(p.zone);
    const keep = parseListFilter(request.query.filter);
    const vms = sortVms(gcp.compute.all().filter((vm) => vm.zone === zone && keep(vm)));
    const page = paginate(vms, request.query);
    const zoneUrl = `${gcp.computeUrl}/projects/${p.project}/zones/${zone.name}`;
    return {
      kind: "compute#instanceList",
      id: `projects/${p.project}/zones/${zone.name}/instances`,
      ...(page.items.length > 0 ? { items: page.items.map(view) } : {}),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink: `${zoneUrl}/instances`,
    };
  });

  scope.get<{ Params: InstanceParams }>(`${base}/zones/:zone/instances/:name`, (request) => {
    authorize(request, "compute.instances.get", instancePath(request.params));
    return view(instanceOf(request.params));
  });

  scope.post<{ Params: InstanceParams; Querystring: ListQuery }>(
    `${base}/zones/:zone/instances/:name/stop`,
    (request) => {
      authorize(request, "compute.instances.stop", instancePath(request.params));
      const vm = instanceOf(request.params);
      return once(request, () => gcp.compute.stop(vm));
    },
  );

  scope.post<{ Params: InstanceParams; Querystring: ListQuery }>(
    `${base}/zones/:zone/instances/:name/start`,
    (request) => {
      authorize(request, "compute.instances.start", instancePath(request.params));
      const vm = instanceOf(request.params);
      return once(request, () => gcp.compute.start(vm));
    },
  );

  scope.delete<{ Params: InstanceParams; Querystring: ListQuery }>(`${base}/zones/:zone/instances/:name`, (request) => {
    authorize(request, "compute.instances.delete", instancePath(request.params));
    // A retried delete whose first try went through finds its operation, not a 404.
    const earlier = gcp.operations.forRequest(request.query.requestId);
    if (earlier) return opView(earlier);
    const vm = instanceOf(request.params);
    return once(request, () => gcp.compute.delete(vm));
  });

  const operationOf = (params: OperationParams): GcpOperation => {
    const zone = zoneOf(params.zone);
    const op = gcp.operations.get(zone.name, params.operation);
    if (!op) throw notFound(`projects/${params.project}/zones/${params.zone}/operations/${params.operation}`);
    return op;
  };
  const operationPath = (p: OperationParams) => `projects/${p.project}/zones/${p.zone}/operations/${p.operation}`;

  scope.get<{ Params: OperationParams }>(`${base}/zones/:zone/operations/:operation`, (request) => {
    authorize(request, "compute.zoneOperations.get", operationPath(request.params));
    return opView(operationOf(request.params));
  });

  scope.post<{ Params: OperationParams }>(`${base}/zones/:zone/operations/:operation/wait`, async (request) => {
    authorize(request, "compute.zoneOperations.get", operationPath(request.params));
    const op = operationOf(request.params);
    await gcp.operations.waitDone(op, OPERATION_WAIT_MS);
    return opView(op);
  });

  scope.get<{ Params: { project: string }; Querystring: ListQuery }>(`${base}/aggregated/instances`, (request) => {
    const project = request.params.project;
    authorize(request, "compute.instances.list", `projects/${project}`);
    const keep = parseListFilter(request.query.filter);
    const page = paginate(sortVms(gcp.compute.all().filter(keep)), request.query);
    const items: Record<string, unknown> = {};
    for (const zone of GCP_ZONES) {
      const scopeName = `zones/${zone.name}`;
      const here = page.items.filter((vm) => vm.zone === zone);
      items[scopeName] =
        here.length > 0
          ? { instances: here.map(view) }
          : {
              warning: {
                code: "NO_RESULTS_ON_PAGE",
                message: `There are no results for scope '${scopeName}' on this page.`,
                data: [{ key: "scope", value: scopeName }],
              },
            };
    }
    return {
      kind: "compute#instanceAggregatedList",
      id: `projects/${project}/aggregated/instances`,
      items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink: `${gcp.computeUrl}/projects/${project}/aggregated/instances`,
    };
  });
}

/** Checks an insert body the way Compute does, naming the first bad field. */
function parseInsert(zone: GcpZone, body: unknown): InsertRequest {
  const parsed = InsertBody.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ["resource", ...(issue?.path ?? []).map(String)].join(".");
    throw invalid(`Invalid value for field '${field}': ${issue?.message ?? "invalid"}.`);
  }
  const resource = parsed.data;
  const name = resource.name ?? "";
  if (!NAME.test(name))
    throw invalid(
      `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
    );

  const machineTypeText = resource.machineType ?? "";
  const typeMatch = /(?:^|\/)zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(machineTypeText);
  const machineType = typeMatch?.[1] === zone.name ? machineTypeNamed(typeMatch[2] ?? "") : undefined;
  if (!machineType) {
    const typeName = typeMatch?.[2] ?? machineTypeText;
    throw invalid(
      `Invalid value for field 'resource.machineType': '${machineTypeText}'. Machine type with name '${typeName}' does not exist in zone '${zone.name}'.`,
    );
  }

  const labels = resource.labels ?? {};
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value))
      throw invalid(
        `Invalid value for field 'resource.labels': '${key}=${value}'. Label keys and values must be lowercase letters, digits, '_' or '-'.`,
      );
  }

  const bootDisk = resource.disks?.find((d) => d.boot) ?? resource.disks?.[0];
  const sizeText = String(bootDisk?.initializeParams?.diskSizeGb ?? "10");
  const size = Number(sizeText);
  if (!Number.isInteger(size) || size < 10 || size > 65_536)
    throw invalid(`Invalid value for field 'resource.disks[0].initializeParams.diskSizeGb': '${sizeText}'.`);

  const accessConfigs = resource.networkInterfaces
    ? (resource.networkInterfaces[0]?.accessConfigs ?? []).map((a) => ({
        type: a.type ?? "ONE_TO_ONE_NAT",
        name: a.name ?? "External NAT",
      }))
    : [{ type: "ONE_TO_ONE_NAT", name: "External NAT" }];

  const scheduling = resource.scheduling ?? {};
  const spot =
    scheduling.provisioningModel === "SPOT" ||
    (scheduling.provisioningModel === undefined && scheduling.preemptible === true);
  return {
    name,
    zone,
    machineType,
    labels,
    metadataItems: (resource.metadata?.items ?? []).map((item) => ({ key: item.key, value: item.value ?? "" })),
    scheduling: {
      provisioningModel: spot ? "SPOT" : "STANDARD",
      instanceTerminationAction: spot ? (scheduling.instanceTerminationAction ?? "STOP") : undefined,
    },
    diskSizeGb: String(size),
    sourceImage: bootDisk?.initializeParams?.sourceImage ?? DEFAULT_IMAGE,
    accessConfigs,
  };
}

function sortVms(vms: GcpVm[]): GcpVm[] {
  const zoneIndex = (vm: GcpVm) => GCP_ZONES.indexOf(vm.zone);
  return vms.sort((a, b) => zoneIndex(a) - zoneIndex(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `maxResults` (≤ 500) and an opaque `pageToken` (the offset, encoded). */
function paginate(vms: GcpVm[], query: ListQuery): { items: GcpVm[]; nextPageToken: string | undefined } {
  const max = query.maxResults === undefined ? MAX_RESULTS : Number(query.maxResults);
  if (!Number.isInteger(max) || max < 0 || max > MAX_RESULTS)
    throw invalid(`Invalid value for field 'maxResults': '${query.maxResults ?? ""}'. Must be between 0 and 500.`);
  let offset = 0;
  if (query.pageToken) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(query.pageToken, "base64url").toString("utf8"));
    if (!decoded?.[1]) throw invalid(`Invalid value for field 'pageToken': '${query.pageToken}'.`);
    offset = Number(decoded[1]);
  }
  const size = max === 0 ? MAX_RESULTS : max;
  const items = vms.slice(offset, offset + size);
  const next = offset + size < vms.length ? Buffer.from(`offset:${offset + size}`).toString("base64url") : undefined;
  return { items, nextPageToken: next };
}

function sendGcpError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof GcpError || error instanceof OAuthError) return reply.status(error.status).send(error.body());
  const isToken = request.url.startsWith("/gcp/");
  const status =
    error instanceof VastError
      ? error.status
      : typeof (error as Partial<FastifyError>).statusCode === "number"
        ? ((error as FastifyError).statusCode ?? 500)
        : 500;
  const message = error instanceof Error ? error.message : String(error);
  if (status < 500) {
    if (isToken) return reply.status(400).send(new OAuthError(400, "invalid_request", message).body());
    return reply.status(status).send(new GcpError(status, "parseError", `Invalid request: ${message}`).body());
  }
  request.log.error({ err: error, url: request.url }, "gcp emulation request failed");
  return reply
    .status(500)
    .send(new GcpError(500, "backendError", "Internal error. Please try again or contact Google Support.").body());
}

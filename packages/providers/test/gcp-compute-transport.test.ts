import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { GcpComputeProvider } from "@dumont/providers";

// The provider against a small stand-in for Google over real HTTP, for what the local
// emulation does not do on purpose: hostile or broken replies, rate limits, refused tokens.

const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_PEM = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const PUBLIC_PEM = pair.publicKey.export({ type: "spki", format: "pem" }).toString();

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server;
let base = "";
let handler: Handler;
let tokenRequests: string[] = [];
let computeRequests: string[] = [];

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function gcpError(code: number, reason: string, message: string) {
  return { error: { code, message, errors: [{ domain: "global", reason, message }] } };
}

/** A token endpoint that hands out `token-<n>`, and Compute answers from `compute`. */
function google(compute: (request: IncomingMessage, body: string, response: ServerResponse) => void): Handler {
  return (request, body, response) => {
    if (request.url === "/token") {
      tokenRequests.push(body);
      return json(response, 200, {
        access_token: `token-${tokenRequests.length}`,
        expires_in: 3599,
        token_type: "Bearer",
      });
    }
    computeRequests.push(`${request.method} ${request.url} ${request.headers.authorization}`);
    compute(request, body, response);
  };
}

function provider(overrides: Partial<ConstructorParameters<typeof GcpComputeProvider>[0]> = {}) {
  return new GcpComputeProvider({
    credentialsJson: JSON.stringify({
      type: "service_account",
      project_id: "dumont-sim",
      private_key_id: "kid-1",
      private_key: PRIVATE_PEM,
      client_email: "sa@dumont-sim.iam.gserviceaccount.com",
      token_uri: `${base}/token`,
    }),
    computeUrl: `${base}/compute/v1`,
    simulated: true,
    operationPollMs: 10,
    backoffMs: 5,
    ...overrides,
  });
}

const INSTANCE = {
  name: "sb-1",
  zone: "x/zones/us-central1-a",
  machineType: "x/machineTypes/e2-micro",
  status: "RUNNING",
  labels: { "dumont-resource": "r1" },
  networkInterfaces: [{ accessConfigs: [{ natIP: "10.0.0.5" }] }],
};

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => handler(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  tokenRequests = [];
  computeRequests = [];
});

describe("GCP Compute transport", () => {
  it("signs an RS256 JWT-bearer grant and reuses the token", async () => {
    handler = google((_request, _body, response) => json(response, 200, INSTANCE));
    const gcp = provider();
    await gcp.getMachine("us-central1-a", "sb-1");
    await gcp.getMachine("us-central1-a", "sb-1");
    expect(tokenRequests).toHaveLength(1);
    const form = new URLSearchParams(tokenRequests[0]);
    expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    const assertion = form.get("assertion") ?? "";
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: "RS256", typ: "JWT", kid: "kid-1" });
    const { payload } = await jwtVerify(assertion, await importSPKI(PUBLIC_PEM, "RS256"), {
      issuer: "sa@dumont-sim.iam.gserviceaccount.com",
      audience: `${base}/token`,
    });
    expect(payload.scope).toBe("https://www.googleapis.com/auth/compute");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(3600);
    expect(computeRequests).toEqual([
      "GET /compute/v1/projects/dumont-sim/zones/us-central1-a/instances/sb-1 Bearer token-1",
      "GET /compute/v1/projects/dumont-sim/zones/us-central1-a/instances/sb-1 Bearer token-1",
    ]);
  });

  it("asks for a new token once when one is refused, then gives up with PROVIDER_AUTH_FAILED", async () => {
    handler = google((request, _body, response) =>
      request.headers.authorization === "Bearer token-2"
        ? json(response, 200, INSTANCE)
        : json(response, 401, gcpError(401, "authError", "Invalid Credentials")),
    );
    expect(await provider().getMachine("us-central1-a", "sb-1")).toMatchObject({ state: "running" });
    expect(tokenRequests).toHaveLength(2);

    tokenRequests = [];
    handler = google((_request, _body, response) =>
      json(response, 401, gcpError(401, "authError", "Invalid Credentials")),
    );
    const error = await rejection(provider().getMachine("us-central1-a", "sb-1"));
    expect(error).toMatchObject({ code: "PROVIDER_AUTH_FAILED" });
    expect(tokenRequests).toHaveLength(2);
  });

  it("says a refused grant or a missing permission is PROVIDER_AUTH_FAILED", async () => {
    handler = (request, _body, response) =>
      request.url === "/token"
        ? json(response, 400, { error: "invalid_grant", error_description: "Invalid JWT Signature." })
        : json(response, 500, {});
    const grant = await rejection(provider().getMachine("us-central1-a", "sb-1"));
    expect(grant).toMatchObject({
      code: "PROVIDER_AUTH_FAILED",
      message: expect.stringContaining("Invalid JWT Signature"),
    });

    const denied =
      "Required 'compute.instances.get' permission for 'projects/dumont-sim/zones/us-central1-a/instances/sb-1'";
    handler = google((_request, _body, response) => json(response, 403, gcpError(403, "forbidden", denied)));
    expect(await rejection(provider().getMachine("us-central1-a", "sb-1"))).toMatchObject({
      code: "PROVIDER_AUTH_FAILED",
      message: expect.stringContaining("compute.instances.get"),
    });
  });

  it("rides through 429s, 5xx and dropped connections with backoff, within a bound", async () => {
    let calls = 0;
    handler = google((request, _body, response) => {
      calls++;
      if (calls === 1) return json(response, 429, gcpError(429, "rateLimitExceeded", "slow down"));
      if (calls === 2) return json(response, 503, {});
      if (calls === 3) return request.socket.destroy();
      json(response, 200, INSTANCE);
    });
    expect(await provider().getMachine("us-central1-a", "sb-1")).toMatchObject({ name: "sb-1" });

    calls = 0;
    handler = google((_request, _body, response) => {
      calls++;
      json(response, 503, {});
    });
    expect(await rejection(provider({ maxAttempts: 3 }).getMachine("us-central1-a", "sb-1"))).toMatchObject({
      code: "PROVIDER_ERROR",
    });
    expect(calls).toBe(3);
  });

  it("turns broken or hostile replies into PROVIDER_ERROR", async () => {
    handler = google((_request, _body, response) => response.writeHead(200).end("<html>hello</html>"));
    expect(await rejection(provider().getMachine("us-central1-a", "sb-1"))).toMatchObject({ code: "PROVIDER_ERROR" });

    handler = google((_request, _body, response) => json(response, 200, { name: 42, status: ["RUNNING"] }));
    expect(await rejection(provider().getMachine("us-central1-a", "sb-1"))).toMatchObject({
      code: "PROVIDER_ERROR",
      message: expect.stringContaining("unexpected shape"),
    });

    handler = google((_request, _body, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      const chunk = "x".repeat(1024 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 64 && response.write(chunk)) sent++;
        if (sent < 64) response.once("drain", more);
        else response.end();
      };
      response.on("error", () => undefined);
      more();
    });
    expect(await rejection(provider().getMachine("us-central1-a", "sb-1"))).toMatchObject({
      code: "PROVIDER_ERROR",
      message: expect.stringContaining("bytes"),
    });
  });

  it("waits on the zone operation and reports its error code", async () => {
    let waits = 0;
    handler = google((request, _body, response) => {
      const op = { name: "operation-1", operationType: "insert", targetLink: "x/instances/sb-1" };
      if (request.method === "POST" && request.url?.includes("/instances?requestId=")) {
        return json(response, 200, { ...op, status: "PENDING" });
      }
      if (request.url?.endsWith("/operations/operation-1/wait")) {
        waits++;
        if (waits < 3) return json(response, 200, { ...op, status: "RUNNING" });
        return json(response, 200, {
          ...op,
          status: "DONE",
          error: { errors: [{ code: "ZONE_RESOURCE_POOL_EXHAUSTED", message: "no e2-micro left in us-central1-a" }] },
        });
      }
      json(response, 404, gcpError(404, "notFound", "nope"));
    });
    const request = {
      name: "sb-1",
      zone: "us-central1-a",
      machineType: "e2-micro",
      diskGb: 10,
      spot: false,
      labels: { "dumont-resource": "r1" },
      sshPublicKeys: [],
    };
    const error = await rejection(provider().createMachine(request));
    expect(error).toMatchObject({
      code: "PROVIDER_ERROR",
      message: expect.stringContaining("ZONE_RESOURCE_POOL_EXHAUSTED"),
    });
    expect(waits).toBe(3);

    handler = google((_request, _body, response) =>
      json(
        response,
        409,
        gcpError(
          409,
          "alreadyExists",
          "The resource 'projects/dumont-sim/zones/us-central1-a/instances/sb-1' already exists",
        ),
      ),
    );
    await expect(provider().createMachine(request)).resolves.toBeUndefined();
  });

  it("lists by label across pages, keeps only matches, and stops on a repeated page token", async () => {
    handler = google((request, _body, response) => {
      const url = new URL(request.url ?? "", base);
      expect(url.searchParams.get("filter")).toBe('labels.dumont-resource="r1"');
      const page = url.searchParams.get("pageToken");
      const other = { ...INSTANCE, name: "sb-other", labels: { "dumont-resource": "r2" } };
      if (!page) {
        return json(response, 200, {
          items: { "zones/us-central1-a": { instances: [INSTANCE, other, { broken: true }] } },
          nextPageToken: "p2",
        });
      }
      json(response, 200, {
        items: {
          "zones/europe-west1-b": { instances: [{ ...INSTANCE, name: "sb-2", zone: "" }] },
          "zones/asia-east1-a": { warning: { code: "NO_RESULTS_ON_PAGE" } },
        },
        nextPageToken: "p2",
      });
    });
    const machines = await provider().listMachines({ key: "dumont-resource", value: "r1" });
    expect(machines.map((machine) => [machine.name, machine.zone])).toEqual([
      ["sb-1", "us-central1-a"],
      ["sb-2", "europe-west1-b"],
    ]);
    expect(computeRequests).toHaveLength(2);
  });
});

import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { importPKCS8, SignJWT, type CryptoKey, type KeyObject } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  generateKey,
  rows,
  run,
  runningInstance,
  ssh,
  sshOptions,
  startTestMarket,
  waitFor,
  type Json,
  type KeyPair,
  type TestMarket,
} from "./helpers";

const ZONE = "us-central1-a";
const COMPUTE_SCOPE = "https://www.googleapis.com/auth/compute";

interface ServiceAccount {
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  token_uri: string;
}

interface Claims {
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  scope?: string;
}

// The market's emulated Google Cloud project, driven as the standby provider will drive it:
// a jose-signed service-account grant, Compute's REST calls with fetch, and the system's ssh.
describe("the emulated GCP project", () => {
  let t: TestMarket;
  let sa: ServiceAccount;
  let token: string;
  let key: KeyPair;
  let signingKey: CryptoKey | KeyObject;

  const assertion = async (claims: Claims = {}, options: { kid?: string; key?: CryptoKey | KeyObject } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const full = {
      iss: sa.client_email,
      aud: sa.token_uri,
      iat: now,
      exp: now + 3600,
      scope: COMPUTE_SCOPE,
      ...claims,
    };
    return new SignJWT({ scope: full.scope })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: options.kid ?? sa.private_key_id })
      .setIssuer(full.iss)
      .setAudience(full.aud)
      .setIssuedAt(full.iat)
      .setExpirationTime(full.exp)
      .sign(options.key ?? signingKey);
  };

  const grant = async (form: Record<string, string>): Promise<{ status: number; body: Json }> => {
    const response = await fetch(sa.token_uri, { method: "POST", body: new URLSearchParams(form) });
    return { status: response.status, body: await response.json() };
  };

  const jwtGrant = async (jwt: string) =>
    grant({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: jwt });

  /** A Compute call: `path` is under `computeUrl`; `bearer` null sends no Authorization. */
  const compute = async (
    method: string,
    path: string,
    body?: unknown,
    bearer: string | null = token,
  ): Promise<{ status: number; body: Json }> => {
    const headers: Record<string, string> = {};
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${t.market.gcp.computeUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };

  const zonePath = (zone = ZONE) => `/projects/dumont-sim/zones/${zone}`;

  const insertBody = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    machineType: `zones/${ZONE}/machineTypes/e2-small`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { diskSizeGb: "20", sourceImage: "projects/debian-cloud/global/images/family/debian-12" },
      },
    ],
    networkInterfaces: [
      { network: "global/networks/default", accessConfigs: [{ type: "ONE_TO_ONE_NAT", name: "External NAT" }] },
    ],
    labels: { "dumont-standby": "yes" },
    metadata: { items: [{ key: "ssh-keys", value: `alice:ssh-ed25519 AAAAnotakey alice\nroot:${key.publicKey}` }] },
    ...extra,
  });

  /** Waits on the operation (`/wait`, then polling) until DONE; returns it. */
  const done = async (op: Json, zone = ZONE): Promise<Json> => {
    expect(op.kind).toBe("compute#operation");
    return waitFor(
      `operation ${op.name}`,
      async () => {
        const polled = await compute("POST", `${zonePath(zone)}/operations/${op.name}/wait`);
        return polled.body.status === "DONE" ? (polled.body as object) : undefined;
      },
      { timeoutMs: 30_000 },
    );
  };

  const getVm = (name: string, zone = ZONE) => compute("GET", `${zonePath(zone)}/instances/${name}`);

  const insertRunning = async (name: string, extra: Record<string, unknown> = {}) => {
    const inserted = await compute("POST", `${zonePath()}/instances`, insertBody(name, extra));
    expect(inserted.status).toBe(200);
    const finished = await done(inserted.body);
    expect(finished.error).toBeUndefined();
    const vm = await getVm(name);
    expect(vm.body.status).toBe("RUNNING");
    return vm.body as Record<string, unknown>;
  };

  const endpointOf = (vm: Json) => {
    const access = vm.networkInterfaces[0].accessConfigs[0];
    return { host: String(access.natIP), port: Number(access.sshPort) };
  };

  beforeAll(async () => {
    t = await startTestMarket({ seed: 21 });
    key = await generateKey(t.dir);
    sa = JSON.parse(t.market.gcp.serviceAccountJson) as ServiceAccount;
    signingKey = await importPKCS8(sa.private_key, "RS256");
  });
  afterAll(async () => {
    await t.close();
  });

  it("hands out a service account whose key file is on disk, private", async () => {
    expect(t.market.gcp.projectId).toBe("dumont-sim");
    expect(t.market.gcp.computeUrl).toBe(`${t.market.url}/compute/v1`);
    expect(sa).toMatchObject({
      type: "service_account",
      project_id: "dumont-sim",
      client_email: "dumont-standby@dumont-sim.iam.gserviceaccount.com",
      token_uri: `${t.market.url}/gcp/token`,
    });
    expect(sa.private_key_id).toMatch(/^[0-9a-f]{40}$/);
    expect(sa.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const file = t.market.gcp.serviceAccountFile;
    expect(file).toBe(`${t.dir}/data/gcp-service-account.json`);
    expect(await readFile(file, "utf8")).toBe(t.market.gcp.serviceAccountJson);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("grants a token for a JWT signed with the service account's key, and refuses every other", async () => {
    const granted = await jwtGrant(await assertion());
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ expires_in: 3599, token_type: "Bearer" });
    expect(typeof granted.body.access_token).toBe("string");
    token = granted.body.access_token as string;

    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const refused: [string, string][] = [
      ["another key", await assertion({}, { key: otherKey })],
      ["an unknown kid", await assertion({}, { kid: "0".repeat(40) })],
      ["another issuer", await assertion({ iss: "someone@else.iam.gserviceaccount.com" })],
      ["another audience", await assertion({ aud: "https://oauth2.googleapis.com/token" })],
      [
        "an expired assertion",
        await assertion({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3700 }),
      ],
      ["a lifetime over an hour", await assertion({ exp: Math.floor(Date.now() / 1000) + 7200 })],
      ["not a JWT", "not.a.jwt"],
    ];
    for (const [what, jwt] of refused) {
      const answer = await jwtGrant(jwt);
      expect({ what, status: answer.status, error: answer.body.error }).toEqual({
        what,
        status: 400,
        error: "invalid_grant",
      });
      expect(typeof answer.body.error_description).toBe("string");
    }
    const wrongGrant = await grant({ grant_type: "client_credentials", assertion: await assertion() });
    expect(wrongGrant).toMatchObject({ status: 400, body: { error: "unsupported_grant_type" } });
  });

  it("answers 401 without a valid token, 403 for another project, 400 for unknown zones and types", async () => {
    for (const bearer of [null, "ya29.not-issued-here"]) {
      const answer = await compute("GET", `${zonePath()}/instances/nothing`, undefined, bearer);
      expect(answer.status).toBe(401);
      expect(answer.body.error).toMatchObject({
        code: 401,
        status: "UNAUTHENTICATED",
        errors: [{ domain: "global", reason: "authError", message: "Invalid Credentials" }],
      });
      expect(answer.body.error.message).toMatch(/^Request had invalid authentication credentials\./);
    }
    const other = await compute("GET", `/projects/someone-else/zones/${ZONE}/instances/x`);
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({
      code: 403,
      status: "PERMISSION_DENIED",
      message: `Required 'compute.instances.get' permission for 'projects/someone-else/zones/${ZONE}/instances/x'`,
      errors: [{ reason: "forbidden" }],
    });
    const zone = await compute("GET", `${zonePath("mars-north1-a")}/instances/x`);
    expect(zone).toMatchObject({ status: 400, body: { error: { code: 400, errors: [{ reason: "invalid" }] } } });
    const type = await compute(
      "POST",
      `${zonePath()}/instances`,
      insertBody("bad-type", { machineType: `zones/${ZONE}/machineTypes/a2-highgpu-1g` }),
    );
    expect(type).toMatchObject({ status: 400, body: { error: { errors: [{ reason: "invalid" }] } } });
    const name = await compute("POST", `${zonePath()}/instances`, insertBody("Not_A_Name"));
    expect(name).toMatchObject({ status: 400, body: { error: { errors: [{ reason: "invalid" }] } } });
    const missing = await getVm("never-was");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: 404,
      message: `The resource 'projects/dumont-sim/zones/${ZONE}/instances/never-was' was not found`,
      errors: [{ reason: "notFound" }],
    });
  });

  it("boots a VM: operation to DONE, RUNNING on the bridge address, root SSH with the metadata key, no GPU", async () => {
    const inserted = await compute(
      "POST",
      `${zonePath()}/instances?requestId=4d6e1a3c-0000-4000-8000-000000000001`,
      insertBody("standby-a"),
    );
    expect(inserted.status).toBe(200);
    expect(inserted.body).toMatchObject({
      operationType: "insert",
      status: "PENDING",
      targetLink: `${t.market.gcp.computeUrl}${zonePath()}/instances/standby-a`,
      zone: `${t.market.gcp.computeUrl}${zonePath()}`,
    });
    expect(inserted.body.name).toMatch(/^operation-\d+-/);
    const early = await getVm("standby-a");
    expect(["PROVISIONING", "STAGING"]).toContain(early.body.status);
    expect(early.body.networkInterfaces[0].accessConfigs[0].natIP).toBeUndefined();
    // The same requestId again is the same operation, not a second VM or a 409.
    const retried = await compute(
      "POST",
      `${zonePath()}/instances?requestId=4d6e1a3c-0000-4000-8000-000000000001`,
      insertBody("standby-a"),
    );
    expect(retried.body.name).toBe(inserted.body.name);

    const finished = await done(inserted.body);
    expect(finished).toMatchObject({ status: "DONE", progress: 100 });
    expect(finished.error).toBeUndefined();
    const vm = (await getVm("standby-a")).body;
    expect(vm).toMatchObject({
      kind: "compute#instance",
      name: "standby-a",
      status: "RUNNING",
      machineType: `${t.market.gcp.computeUrl}${zonePath()}/machineTypes/e2-small`,
      labels: { "dumont-standby": "yes" },
      disks: [{ boot: true, diskSizeGb: "20" }],
      scheduling: { provisioningModel: "STANDARD" },
    });
    expect(vm.networkInterfaces[0].networkIP).toMatch(/^10\.128\.0\.\d+$/);
    const endpoint = endpointOf(vm);
    expect(endpoint.host).toBe(t.market.machineHostAddress);
    expect(endpoint.port).toBeGreaterThan(0);

    const shell = await ssh(
      endpoint,
      key,
      "whoami; pwd; ls -A /workspace; command -v nvidia-smi || echo no-gpu-tools; ls /root",
    );
    expect(shell).toMatchObject({ code: 0, stdout: "root\n/workspace\nno-gpu-tools\n" });
    // Only root's metadata lines count.
    const alice = await run("ssh", [...sshOptions(endpoint.port, key), `alice@${endpoint.host}`, "true"]);
    expect(alice.code).not.toBe(0);
    // Its own network namespace: the host's loopback is not there.
    const loopback = await ssh(
      endpoint,
      key,
      `cat < /dev/tcp/127.0.0.1/${new URL(t.market.url).port} && echo reached || echo unreachable`,
    );
    expect(loopback.stdout.trim().split("\n").pop()).toBe("unreachable");

    const duplicate = await compute("POST", `${zonePath()}/instances`, insertBody("standby-a"));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatchObject({
      code: 409,
      message: `The resource 'projects/dumont-sim/zones/${ZONE}/instances/standby-a' already exists`,
      errors: [{ domain: "global", reason: "alreadyExists" }],
    });
  });

  it("keeps the disk across stop and start", async () => {
    const before = endpointOf((await getVm("standby-a")).body);
    expect((await ssh(before, key, "echo kept > /workspace/note && sync")).code).toBe(0);
    const stopped = await done((await compute("POST", `${zonePath()}/instances/standby-a/stop`)).body);
    expect(stopped).toMatchObject({ operationType: "stop", status: "DONE" });
    const terminated = (await getVm("standby-a")).body;
    expect(terminated.status).toBe("TERMINATED");
    expect(terminated.networkInterfaces[0].accessConfigs[0].natIP).toBeUndefined();
    expect((await ssh(before, key, "true")).code).not.toBe(0);
    // A stop of a stopped VM is DONE at once.
    const again = await compute("POST", `${zonePath()}/instances/standby-a/stop`);
    expect(again.body.status).toBe("DONE");

    const started = await done((await compute("POST", `${zonePath()}/instances/standby-a/start`)).body);
    expect(started.error).toBeUndefined();
    const running = (await getVm("standby-a")).body;
    expect(running.status).toBe("RUNNING");
    const after = endpointOf(running);
    expect((await ssh(after, key, "cat /workspace/note")).stdout).toBe("kept\n");
  });

  it("lists VMs across zones by label", async () => {
    const other = await compute("POST", `${zonePath("europe-west1-b")}/instances`, {
      ...insertBody("standby-b"),
      machineType: "zones/europe-west1-b/machineTypes/e2-micro",
      labels: { "dumont-standby": "no", owner: "x" },
    });
    expect(other.status).toBe(200);
    await done(other.body, "europe-west1-b");
    for (const filter of ['labels.dumont-standby = "yes"', "labels.dumont-standby=yes"]) {
      const listed = await compute(
        "GET",
        `/projects/dumont-sim/aggregated/instances?filter=${encodeURIComponent(filter)}`,
      );
      expect(listed.status).toBe(200);
      expect(listed.body.kind).toBe("compute#instanceAggregatedList");
      expect(rows(listed.body.items[`zones/${ZONE}`].instances).map((i): unknown => i.name)).toEqual(["standby-a"]);
      expect(listed.body.items["zones/europe-west1-b"].warning.code).toBe("NO_RESULTS_ON_PAGE");
    }
    const all = await compute("GET", "/projects/dumont-sim/aggregated/instances?maxResults=1");
    expect(all.body.items[`zones/${ZONE}`].instances).toHaveLength(1);
    const next = await compute(
      "GET",
      `/projects/dumont-sim/aggregated/instances?maxResults=1&pageToken=${all.body.nextPageToken}`,
    );
    expect(rows(next.body.items["zones/europe-west1-b"].instances).map((i): unknown => i.name)).toEqual(["standby-b"]);
    expect(next.body.nextPageToken).toBeUndefined();
    const deleted = await done(
      (await compute("DELETE", `${zonePath("europe-west1-b")}/instances/standby-b`)).body,
      "europe-west1-b",
    );
    expect(deleted).toMatchObject({ operationType: "delete", status: "DONE" });
  });

  it("is reachable from a GPU machine at dumont-host", async () => {
    const gpu = await runningInstance(t, key);
    const vm = endpointOf((await getVm("standby-a")).body);
    const privateKey = await readFile(key.privateKeyPath, "utf8");
    expect((await ssh(gpu, key, "umask 077 && cat > /root/standby_key", privateKey)).code).toBe(0);
    const hop = await ssh(
      gpu,
      key,
      `ssh -i /root/standby_key -p ${vm.port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@dumont-host 'cat /workspace/note; hostname'`,
    );
    expect(hop).toMatchObject({ code: 0, stdout: "kept\nstandby-a\n" });
    await t.call("DELETE", `/api/v0/instances/${gpu.id}/`);
  });

  it("preempts a Spot VM, fails an insert on request, and holds SSH down", async () => {
    const spot = await insertRunning("standby-spot", {
      scheduling: { provisioningModel: "SPOT", instanceTerminationAction: "STOP" },
    });
    expect(spot.scheduling).toMatchObject({ provisioningModel: "SPOT", instanceTerminationAction: "STOP" });
    const endpoint = endpointOf(spot);

    const down = await t.call("POST", "/sim/gcp/instances/standby-spot/ssh-down", { down: true });
    expect(down).toMatchObject({ status: 200, body: { ssh_down: true } });
    expect((await ssh(endpoint, key, "true")).code).toBe(255);
    expect((await getVm("standby-spot")).body.status).toBe("RUNNING");
    await t.call("POST", "/sim/gcp/instances/standby-spot/ssh-down", { down: false });
    expect((await ssh(endpoint, key, "echo up")).stdout).toBe("up\n");

    const preempted = await t.call("POST", "/sim/gcp/instances/standby-spot/preempt");
    expect(preempted).toMatchObject({ status: 200, body: { status: "TERMINATED" } });
    expect((await getVm("standby-spot")).body).toMatchObject({
      status: "TERMINATED",
      statusMessage: "Instance was preempted.",
    });
    const notSpot = await t.call("POST", "/sim/gcp/instances/standby-a/preempt");
    expect(notSpot.status).toBe(400);

    const injected = await t.call("POST", "/sim/gcp/next-insert-error", {
      code: "ZONE_RESOURCE_POOL_EXHAUSTED",
      message:
        "The zone 'projects/dumont-sim/zones/us-central1-a' does not have enough resources available to fulfill the request.",
    });
    expect(injected.status).toBe(200);
    const failing = await compute("POST", `${zonePath()}/instances`, insertBody("standby-unlucky"));
    const failed = await done(failing.body);
    expect(failed.error.errors[0].code).toBe("ZONE_RESOURCE_POOL_EXHAUSTED");
    expect((await getVm("standby-unlucky")).status).toBe(404);

    const listed = await t.call("GET", "/sim/gcp/instances");
    const vms: Json[] = listed.body.instances;
    expect(vms.map((r) => `${r.name}:${r.status}`).sort()).toEqual(["standby-a:RUNNING", "standby-spot:TERMINATED"]);
    const a = vms.find((r) => r.name === "standby-a");
    expect(a).toMatchObject({ zone: ZONE, ssh_port: endpointOf((await getVm("standby-a")).body).port });
    expect(existsSync(`${a.workspace}/note`)).toBe(true);
  });

  it("deletes a VM: its sandbox and disk go, then 404", async () => {
    const vms: Json[] = (await t.call("GET", "/sim/gcp/instances")).body.instances;
    const a = vms.find((r) => r.name === "standby-a");
    const deleted = await done((await compute("DELETE", `${zonePath()}/instances/standby-a`)).body);
    expect(deleted.error).toBeUndefined();
    expect((await getVm("standby-a")).status).toBe(404);
    expect(existsSync(String(a.disk_dir))).toBe(false);
    expect(existsSync(`/proc/${a.sandbox_init_pid}`)).toBe(false);
    expect((await compute("DELETE", `${zonePath()}/instances/standby-a`)).status).toBe(404);
  });

  it("closes with the market: no VM sandbox is left", async () => {
    await insertRunning("standby-last");
    const vms: Json[] = (await t.call("GET", "/sim/gcp/instances")).body.instances;
    const pid = vms.find((r) => r.name === "standby-last")?.sandbox_init_pid as number;
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await t.market.close();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    // Its network went with the market's: the bridge address is on no interface any more.
    expect((await run("ip", ["-4", "addr", "show"])).stdout).not.toContain(`inet ${t.market.machineHostAddress}/`);
  });
});

// The VM lifecycle runs on the market's simulated clock: frozen, nothing moves until /sim advances it.
describe("the emulated GCP project on a frozen clock", () => {
  let t: TestMarket;
  let bearer: string;

  const compute = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const response = await fetch(`${t.market.gcp.computeUrl}/projects/dumont-sim/zones/${ZONE}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response.json();
  };
  const advance = (seconds: number) => t.call("POST", "/sim/clock/advance", { seconds });

  beforeAll(async () => {
    t = await startTestMarket({ seed: 22, timeScale: 0 });
    const sa = JSON.parse(t.market.gcp.serviceAccountJson) as ServiceAccount;
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ scope: COMPUTE_SCOPE })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: sa.private_key_id })
      .setIssuer(sa.client_email)
      .setAudience(sa.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(await importPKCS8(sa.private_key, "RS256"));
    const response = await fetch(sa.token_uri, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: jwt }),
    });
    bearer = ((await response.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await t.close();
  });

  it("goes PROVISIONING → STAGING → RUNNING, and STOPPING → TERMINATED, only as simulated time passes", async () => {
    const op: Json = await compute("POST", "/instances", {
      name: "frozen-vm",
      machineType: `zones/${ZONE}/machineTypes/e2-micro`,
    });
    expect(op.status).toBe("PENDING");
    await sleep(300);
    expect((await compute("GET", "/instances/frozen-vm")).status).toBe("PROVISIONING");
    await advance(1);
    expect((await compute("GET", "/instances/frozen-vm")).status).toBe("STAGING");
    expect((await compute("GET", `/operations/${op.name}`)).status).toBe("RUNNING");
    // The sandbox and SSH come up in real time, but RUNNING also needs its simulated staging time.
    await waitFor("the sandbox", async () => {
      const vms: Json[] = (await t.call("GET", "/sim/gcp/instances")).body.instances;
      return vms[0]?.ssh_port ? true : undefined;
    });
    expect((await compute("GET", "/instances/frozen-vm")).status).toBe("STAGING");
    await advance(2);
    expect((await compute("GET", "/instances/frozen-vm")).status).toBe("RUNNING");
    expect((await compute("GET", `/operations/${op.name}`)).status).toBe("DONE");

    const stop: Json = await compute("POST", "/instances/frozen-vm/stop");
    expect((await compute("GET", "/instances/frozen-vm")).status).toBe("STOPPING");
    await sleep(300);
    expect((await compute("GET", "/instances/frozen-vm")).status).toBe("STOPPING");
    await advance(1);
    await waitFor("TERMINATED", async () =>
      (await compute("GET", "/instances/frozen-vm")).status === "TERMINATED" ? true : undefined,
    );
    expect((await compute("GET", `/operations/${stop.name}`)).status).toBe("DONE");
  });
});

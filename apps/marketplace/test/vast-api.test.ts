import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createInstance,
  generateKey,
  num,
  pickOffer,
  rows,
  startTestMarket,
  waitForInstance,
  type Json,
  type TestMarket,
} from "./helpers";

// Vast's HTTP surface: auth, error shapes, the v1 list, accounts and keys. Instances here are
// mostly created stopped (no sandbox), so the file stays fast.
describe("Vast API surface", () => {
  let t: TestMarket;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 3, apiKey: "test-key-0123456789abcdef" });
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers Vast's auth errors: 403 without a key, 401 for an unknown key, query api_key accepted", async () => {
    expect(t.market.apiKey).toBe("test-key-0123456789abcdef");
    const missing = await t.call("GET", "/api/v0/users/current/", undefined, null);
    expect(missing.status).toBe(403);
    expect(missing.body).toEqual({ success: false, error: "auth_error", msg: "This action requires login." });
    const unknown = await t.call("GET", "/api/v1/instances/", undefined, "not-a-key");
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ success: false, error: "auth_error", msg: "Invalid user key" });
    const legacy = await fetch(`${t.market.url}/api/v0/users/current?api_key=${t.market.apiKey}`);
    expect(legacy.status).toBe(200);
    const user = (await legacy.json()) as Json;
    expect(user).toMatchObject({
      email: expect.any(String),
      balance: expect.any(Number),
      balance_threshold: expect.any(Number),
    });
    expect(user.credit).toBeCloseTo(100, 3);
    expect(typeof user.id).toBe("number");
    for (const path of ["/api/v0/instances/1/", "/sim/state"]) {
      expect((await t.call("GET", path, undefined, null)).status).toBe(403);
    }
  });

  it("retires the v0 list with 410 and reads gone ids as {instances: null}", async () => {
    const retired = await t.call("GET", "/api/v0/instances/?owner=me");
    expect(retired.status).toBe(410);
    expect(retired.body).toEqual({
      success: false,
      error: "deprecated_endpoint",
      msg: "/api/v0/instances/ is deprecated. Use /api/v1/instances/ instead.",
    });
    const gone = await t.call("GET", "/api/v0/instances/99999999/");
    expect(gone.status).toBe(200);
    expect(gone.body).toEqual({ instances: null });
    const destroyUnknown = await t.call("DELETE", "/api/v0/instances/99999999/");
    expect(destroyUnknown.status).toBe(404);
    expect(destroyUnknown.body).toMatchObject({ success: false, error: "no_such_instance" });
    const bad = await t.call("GET", "/api/v0/instances/abc/");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, error: "invalid_args" });
  });

  it("refuses bad creates with Vast's codes", async () => {
    const offer = await pickOffer(t);
    const noAsk = await t.call("PUT", "/api/v0/asks/12345/", { image: "x" });
    expect(noAsk.status).toBe(404);
    expect(noAsk.body).toMatchObject({ success: false, error: "no_such_ask" });
    expect(noAsk.body.msg).toContain("no_such_ask");
    const bigDisk = await t.call("PUT", `/api/v0/asks/${offer.id}/`, { image: "x", disk: offer.disk_space + 1 });
    expect(bigDisk.status).toBe(400);
    expect(bigDisk.body).toMatchObject({ success: false, error: "invalid_args" });
    const badPrice = await t.call("PUT", `/api/v0/asks/${offer.id}/`, { image: "x", price: 0.0001 });
    expect(badPrice.status).toBe(400);
    expect(badPrice.body).toMatchObject({ success: false, error: "invalid_price" });
    const noImage = await t.call("PUT", `/api/v0/asks/${offer.id}/`, { disk: 10 });
    expect(noImage.status).toBe(400);
    expect(noImage.body.error).toBe("invalid_args");
    const notJson = await fetch(`${t.market.url}/api/v0/asks/${offer.id}/`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.market.apiKey}`, "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ success: false, error: "invalid_request" });
  });

  it("creates, takes the offer's GPUs until destroy, and echoes the request on the instance", async () => {
    // A one-GPU machine: renting its only GPU makes the offer unrentable.
    const offer = await pickOffer(t, { num_gpus: { eq: 1 }, gpu_frac: { eq: 1 }, gpu_name: { eq: "RTX 4090" } });
    const created = await t.call("PUT", `/api/v0/asks/${offer.id}/`, {
      client_id: "me",
      image: "pytorch/pytorch:latest",
      disk: 12,
      label: "dumont:api-1",
      env: { HF_HOME: "/workspace/hf", "-p 8000:8000": "1" },
      onstart: "echo started",
      runtype: "ssh_direc ssh_proxy",
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      success: true,
      new_contract: expect.any(Number),
      instance_api_key: expect.any(String),
    });
    const id = created.body.new_contract as number;

    const machine = await t.call("POST", "/api/v0/bundles/", { machine_id: { eq: offer.machine_id }, limit: 20 });
    const same = rows(machine.body.offers).find((o) => o.id === offer.id);
    expect(same.rentable).toBe(false);
    expect(same.rented).toBe(true);
    const retake = await t.call("PUT", `/api/v0/asks/${offer.id}/`, { image: "x" });
    expect(retake.status).toBe(410);
    expect(retake.body).toMatchObject({ success: false, error: "no_such_ask" });

    const instance = await waitForInstance(t, id, () => true);
    expect(instance).toMatchObject({
      id,
      machine_id: offer.machine_id,
      host_id: offer.host_id,
      label: "dumont:api-1",
      image_uuid: "pytorch/pytorch:latest",
      disk_space: 12,
      gpu_name: "RTX 4090",
      num_gpus: 1,
      gpu_ram: offer.gpu_ram,
      intended_status: "running",
      cur_state: "running",
      is_bid: false,
      onstart: "echo started",
      geolocation: offer.geolocation,
      reliability2: offer.reliability2,
    });
    expect(instance.extra_env).toEqual([
      ["HF_HOME", "/workspace/hf"],
      ["-p 8000:8000", "1"],
    ]);
    expect(instance.dph_total).toBeCloseTo(num(offer.dph_base) + (12 * num(offer.storage_cost)) / 720, 5);
    expect([null, "loading", "running"]).toContain(instance.actual_status);

    const running = await waitForInstance(t, id, (i) => i.actual_status === "running");
    expect(running.status_msg).toContain("success, running pytorch/pytorch:latest");
    expect(running.ports["22/tcp"] ?? null).toEqual(
      offer.direct_port_count > 0 ? [{ HostIp: "0.0.0.0", HostPort: String(running.ssh_port) }] : null,
    );
    expect(running.ssh_host).toBe("127.0.0.1");

    const relabel = await t.call("PUT", `/api/v0/instances/${id}/`, { label: "renamed" });
    expect(relabel.body).toEqual({ success: true });
    expect((await waitForInstance(t, id, () => true)).label).toBe("renamed");

    expect((await t.call("DELETE", `/api/v0/instances/${id}/`)).body).toEqual({ success: true });
    expect((await t.call("GET", `/api/v0/instances/${id}/`)).body).toEqual({ instances: null });
    const again = await t.call("POST", "/api/v0/bundles/", { id: { eq: offer.id } });
    expect(again.body.offers[0].rentable).toBe(true);
  });

  it("pages the v1 list with next_token, filters stored columns and counts labels", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const label = i % 3 === 0 ? "page-a" : i % 3 === 1 ? "page-b" : null;
      const { id } = await createInstance(t, { target_state: "stopped", label }, { num_gpus: { eq: 1 } });
      ids.push(id);
    }
    const seen: number[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query: string = token ? `?limit=25&next_token=${encodeURIComponent(token)}` : "?limit=100";
      const page = await t.call("GET", `/api/v1/instances/${query}`);
      expect(page.status, page.text.slice(0, 200)).toBe(200);
      expect(page.body.success).toBe(true);
      expect(page.body.instances.length).toBeLessThanOrEqual(25);
      seen.push(...rows(page.body.instances).map((i) => num(i.id)));
      token = page.body.next_token as string | null;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen)).toEqual(new Set(ids));

    const filters = encodeURIComponent(JSON.stringify({ label: { eq: "page-a" } }));
    const a = await t.call("GET", `/api/v1/instances/?select_filters=${filters}`);
    expect(a.body.instances).toHaveLength(10);
    expect(rows(a.body.instances).every((i) => i.label === "page-a" && Array.isArray(i.volume_info))).toBe(true);
    expect(a.body.label_counts).toMatchObject({ "page-a": 10, "page-b": 10, "": 10 });
    const both = encodeURIComponent(
      JSON.stringify({ label: { in: ["page-a", "page-b"] }, cur_state: { eq: "stopped" } }),
    );
    expect((await t.call("GET", `/api/v1/instances/?select_filters=${both}`)).body.instances_found).toBe(20);
    const cols = encodeURIComponent(JSON.stringify(["id", "label"]));
    const narrow = await t.call("GET", `/api/v1/instances/?limit=1&select_cols=${cols}`);
    expect(Object.keys(narrow.body.instances[0] as object).sort()).toEqual(["id", "label"]);
    const descending = encodeURIComponent(JSON.stringify([{ col: "id", dir: "desc" }]));
    const desc = await t.call("GET", `/api/v1/instances/?limit=3&order_by=${descending}`);
    expect(rows(desc.body.instances).map((i) => num(i.id))).toEqual([...ids].reverse().slice(0, 3));

    const computed = encodeURIComponent(JSON.stringify({ dph_total: { lt: 1 } }));
    const refused = await t.call("GET", `/api/v1/instances/?select_filters=${computed}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      success: false,
      error: "invalid_request",
      msg: "dph_total is not a valid search key",
    });
    const badToken = await t.call("GET", "/api/v1/instances/?next_token=%%%");
    expect(badToken.status).toBe(400);
    expect(badToken.body.error).toBe("invalid_token");

    for (const id of ids) expect((await t.call("DELETE", `/api/v0/instances/${id}`)).status).toBe(200);
  });

  it("keeps account SSH keys and attaches keys to one instance", async () => {
    const fresh = await startTestMarket({ seed: 4 });
    try {
      const none = await fresh.call("GET", "/api/v0/ssh/");
      expect(none.status).toBe(404);
      const key = await generateKey(fresh.dir);
      const added = await fresh.call("POST", "/api/v0/ssh/", { ssh_key: key.publicKey });
      expect(added.body).toMatchObject({ success: true, key: { id: expect.any(Number), public_key: key.publicKey } });
      const list = await fresh.call("GET", "/api/v0/ssh/");
      expect(list.body).toEqual([expect.objectContaining({ id: added.body.key.id, key: key.publicKey })]);
      expect((await fresh.call("POST", "/api/v0/ssh/", { ssh_key: "ssh-rsa not-a-key" })).status).toBe(400);

      const { id } = await createInstance(fresh, { target_state: "stopped" });
      const other = await generateKey(fresh.dir, "other");
      const attached = await fresh.call("POST", `/api/v0/instances/${id}/ssh/`, { ssh_key: other.publicKey });
      expect(attached.body).toMatchObject({ success: true });
      const keys = await fresh.call("GET", `/api/v0/instances/${id}/ssh/`);
      // A JSON-encoded string, as Vast answers it.
      expect(typeof keys.body.ssh_keys).toBe("string");
      const parsed = JSON.parse(keys.body.ssh_keys as string) as Json[];
      expect(parsed.map((k): unknown => k.public_key)).toEqual([key.publicKey, other.publicKey]);

      expect((await fresh.call("DELETE", `/api/v0/ssh/${added.body.key.id}/`)).body).toEqual({ success: true });
      expect((await fresh.call("DELETE", `/api/v0/ssh/${added.body.key.id}/`)).body.error).toBe("no_ssh_key");
    } finally {
      await fresh.close();
    }
  });

  it("answers 429 in plain text without Retry-After, and 5xx, at the rates set through /sim", async () => {
    expect((await t.call("POST", "/sim/api-faults", { rate_429: 1 })).status).toBe(200);
    const limited = await t.call("GET", "/api/v0/users/current/");
    expect(limited.status).toBe(429);
    expect(limited.text).toMatch(/^API requests too frequent: endpoint threshold=\d+\.\d$/);
    expect(limited.headers.get("retry-after")).toBeNull();
    const create = await t.call("PUT", "/api/v0/asks/1/", {});
    expect(create.text).toBe("API requests too frequent: endpoint threshold=4.5");
    // The control API itself is never faulted, so a test can always switch faults off.
    expect((await t.call("POST", "/sim/api-faults", { rate_429: 0, rate_5xx: 1 })).status).toBe(200);
    const unavailable = await t.call("POST", "/api/v0/bundles/", {});
    expect(unavailable.status).toBe(503);
    await t.call("POST", "/sim/api-faults", { rate_429: 0.5, rate_5xx: 0 });
    const statuses = [];
    for (let i = 0; i < 40; i++) statuses.push((await t.call("GET", "/api/v0/users/current/")).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(5);
    await t.call("POST", "/sim/api-faults", { rate_429: 0, rate_5xx: 0 });
    expect((await t.call("GET", "/api/v0/users/current/")).status).toBe(200);
  });

  it("accepts instance_api_key for its own instance only", async () => {
    const first = await pickOffer(t);
    const created = await t.call("PUT", `/api/v0/asks/${first.id}/`, { image: "x", target_state: "stopped" });
    const key = created.body.instance_api_key as string;
    const id = created.body.new_contract as number;
    const own = await t.call("GET", `/api/v0/instances/${id}/`, undefined, key);
    expect(own.body.instances.id).toBe(id);
    const { id: otherId } = await createInstance(t, { target_state: "stopped" });
    expect((await t.call("GET", `/api/v0/instances/${otherId}/`, undefined, key)).body).toEqual({ instances: null });
    expect((await t.call("GET", "/api/v0/users/current/", undefined, key)).status).toBe(403);
    expect((await t.call("DELETE", `/api/v0/instances/${id}/`, undefined, key)).body).toEqual({ success: true });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInstance, num, rows, startTestMarket, waitFor, type Json, type TestMarket } from "./helpers";

const OTHER_KEY = "other-account-key-0123456789";

/** Polls a result_url the way the official CLI does: a plain GET with no key, until 200. */
async function fetchResult(url: string): Promise<string> {
  return waitFor(`result at ${url}`, async () => {
    const response = await fetch(url);
    return response.status === 200 ? response.text() : undefined;
  });
}

// The calls Vast's own public clients (the official `vastai` CLI and SDK) make beyond renting,
// with stopped instances only (no machine needed): exact content type, the GPU-name catalog, the
// user's key, env vars, billing, and the argument, auth and isolation errors of execute and logs.
describe("what Vast's own clients call", () => {
  let t: TestMarket;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 5, apiKey: "clients-key-0123456789abcdef" });
    const other = await t.call("POST", "/sim/accounts", { api_key: OTHER_KEY, credit: 50 });
    expect(other.status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
  });

  it("types every JSON reply exactly application/json, errors and unknown paths included", async () => {
    const replies = [
      await t.call("GET", "/api/v0/users/current/"),
      await t.call("POST", "/api/v0/bundles/", { limit: 1 }, null),
      await t.call("GET", "/api/v0/users/current/", undefined, null), // 403
      await t.call("GET", "/api/v0/users/current/", undefined, "wrong-key"), // 401
      await t.call("GET", "/api/v0/no/such/endpoint/"), // 404
      await t.call("PUT", "/api/v0/asks/1/", { image: 5 }), // 400 from validation
      await t.call("GET", "/api/v0/instances/"), // 410
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 403, 401, 404, 400, 410]);
    for (const reply of replies) expect(reply.headers.get("content-type")).toBe("application/json");
    // A body that is not JSON is a Vast 400, typed the same way.
    const broken = await fetch(`${t.market.url}/api/v0/bundles/`, { method: "POST", body: "{not json" });
    expect(broken.status).toBe(400);
    expect(broken.headers.get("content-type")).toBe("application/json");
  });

  it("serves the GPU-name catalog the CLI loads at start-up, with or without a key", async () => {
    const anonymous = await t.call("GET", "/api/v0/gpu_names/unique/", undefined, null);
    expect(anonymous.status).toBe(200);
    const names = rows(anonymous.body.gpu_names).map(String);
    expect(names).toContain("RTX 4090");
    expect(names).toContain("H100 SXM");
    expect(new Set(names).size).toBe(names.length);
    // Every name offers are listed under is in the catalog.
    const offers = await t.call("POST", "/api/v0/bundles/", { limit: 500 }, null);
    for (const offer of rows(offers.body.offers)) expect(names).toContain(offer.gpu_name);
    expect((await t.call("GET", "/api/v0/gpu_names/unique")).status).toBe(200);
    expect((await t.call("GET", "/api/v0/gpu_names/unique/", undefined, "wrong-key")).status).toBe(401);
  });

  it("returns the caller's own api_key in users/current", async () => {
    expect((await t.call("GET", "/api/v0/users/current/")).body.api_key).toBe(t.market.apiKey);
    expect((await t.call("GET", "/api/v0/users/current/", undefined, OTHER_KEY)).body.api_key).toBe(OTHER_KEY);
  });

  it("keeps account env vars per account under /secrets/, refusing bad names and unknown keys", async () => {
    expect((await t.call("GET", "/api/v0/secrets/")).body).toEqual({ success: true, secrets: {} });
    const created = await t.call("POST", "/api/v0/secrets/", { key: "HF_TOKEN", value: "hf_abc" });
    expect(created.status).toBe(200);
    expect(created.body.success).toBe(true);
    const duplicate = await t.call("POST", "/api/v0/secrets/", { key: "HF_TOKEN", value: "x" });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error).toBe("invalid_args");
    expect((await t.call("PUT", "/api/v0/secrets/", { key: "HF_TOKEN", value: "hf_new" })).status).toBe(200);
    expect((await t.call("GET", "/api/v0/secrets/")).body.secrets).toEqual({ HF_TOKEN: "hf_new" });
    for (const bad of [{ key: "1BAD", value: "v" }, { key: "A B", value: "v" }, { key: "OK" }, {}]) {
      const refused = await t.call("POST", "/api/v0/secrets/", bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body).toMatchObject({ success: false, error: "invalid_args" });
    }
    const missing = await t.call("PUT", "/api/v0/secrets/", { key: "NOPE", value: "v" });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, error: "not_found" });
    // Another account sees none of them and cannot delete them.
    expect((await t.call("GET", "/api/v0/secrets/", undefined, OTHER_KEY)).body.secrets).toEqual({});
    expect((await t.call("DELETE", "/api/v0/secrets/", { key: "HF_TOKEN" }, OTHER_KEY)).status).toBe(404);
    expect((await t.call("GET", "/api/v0/secrets/", undefined, null)).status).toBe(403);
    expect((await t.call("DELETE", "/api/v0/secrets/", { key: "HF_TOKEN" })).status).toBe(200);
    expect((await t.call("GET", "/api/v0/secrets/")).body.secrets).toEqual({});
  });

  it("lists charges per instance split into gpu and disk, adding up to the credit spent", async () => {
    const { id } = await createInstance(t, { target_state: "stopped", label: "billing-probe" });
    // A stopped instance bills its disk only; let some simulated time pass.
    await t.call("POST", "/sim/clock/advance", { seconds: 7200 });
    const nowS = Date.now() / 1000 + 10 * 86_400;
    const day = encodeURIComponent(JSON.stringify({ day: { gte: 0, lte: nowS } }));
    const charges = await t.call("GET", `/api/v0/charges/?select_filters=${day}`);
    expect(charges.status).toBe(200);
    expect(charges.body).toMatchObject({ success: true, count: expect.any(Number), total: expect.any(Number) });
    const mine = rows(charges.body.results).filter((r) => r.source === `instance-${id}`);
    expect(mine.length).toBeGreaterThan(0);
    const first: Json = mine[0];
    expect(first).toMatchObject({ type: "instance", metadata: { label: "billing-probe" } });
    const items = rows(first.items);
    expect(items.map((i): unknown => i.type)).toEqual(["gpu", "disk"]);
    expect(items[0].amount).toBe(0);
    expect(num(items[1].amount)).toBeGreaterThan(0);
    const user = await t.call("GET", "/api/v0/users/current/");
    const booked = rows(charges.body.results).reduce((sum: number, r) => sum + num(r.amount), 0);
    expect(booked).toBeCloseTo(100 - num(user.body.credit), 4);
    // Paging: one row a page, with a token that walks on; a bad token is Vast's invalid_token.
    const firstPage = await t.call("GET", `/api/v0/charges/?select_filters=${day}&limit=1`);
    expect(firstPage.body.count).toBe(1);
    const bad = await t.call("GET", `/api/v0/charges/?select_filters=${day}&after_token=%21%21`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("invalid_token");
    // The day range is required; another account sees none of these charges.
    const noDay = await t.call("GET", "/api/v0/charges/");
    expect(noDay.status).toBe(400);
    expect(noDay.body).toMatchObject({ success: false, error: "invalid_args" });
    const theirs = await t.call("GET", `/api/v0/charges/?select_filters=${day}`, undefined, OTHER_KEY);
    expect(rows(theirs.body.results).filter((r) => r.source === `instance-${id}`)).toEqual([]);
    expect((await t.call("GET", `/api/v0/charges/?select_filters=${day}`, undefined, null)).status).toBe(403);
  });

  it("lists the credit put on the account as invoices, v1 and the CLI's older call", async () => {
    const when = encodeURIComponent(JSON.stringify({ when: { gte: 0, lte: Date.now() / 1000 + 30 * 86_400 } }));
    const invoices = await t.call("GET", `/api/v1/invoices/?select_filters=${when}`);
    expect(invoices.status).toBe(200);
    const starting = rows(invoices.body.results)[0];
    // Money in counts negative on Vast's invoices; the official CLI flips it to "$100.00".
    expect(starting).toMatchObject({ type: "credit", amount: -100, metadata: { invoice_id: expect.any(Number) } });
    // A missing range is 200 with success false, as Vast answers it.
    const noRange = await t.call("GET", "/api/v1/invoices/");
    expect(noRange.status).toBe(200);
    expect(noRange.body).toMatchObject({ success: false, error: "Invalid date range" });
    const legacy = await t.call("GET", "/api/v0/users/me/invoices?owner=me&sdate=0&edate=99999999999&inc_charges=true");
    expect(legacy.status).toBe(200);
    const types = new Set(rows(legacy.body.invoices).map((r): unknown => r.type));
    expect(types).toEqual(new Set(["payment", "charge"]));
    expect(num(legacy.body.current.charges)).toBeGreaterThan(0);
    const theirs = await t.call("GET", `/api/v1/invoices/?select_filters=${when}`, undefined, OTHER_KEY);
    expect(rows(theirs.body.results).map((r): unknown => r.amount)).toEqual([-50]);
  });

  it("refuses execute and request_logs on others' instances, bad commands and stopped machines", async () => {
    const { id } = await createInstance(t, { target_state: "stopped" });
    const notMine = await t.call("PUT", `/api/v0/instances/command/${id}/`, { command: "ls" }, OTHER_KEY);
    expect(notMine.status).toBe(404);
    expect(notMine.body).toMatchObject({ success: false, error: "no_such_instance" });
    const logsNotMine = await t.call("PUT", `/api/v0/instances/request_logs/${id}/`, {}, OTHER_KEY);
    expect(logsNotMine.status).toBe(404);
    expect(logsNotMine.body).toMatchObject({ success: false, error: "invalid_id" });
    expect((await t.call("PUT", `/api/v0/instances/command/${id}/`, { command: "ls" }, null)).status).toBe(403);
    for (const body of [
      {},
      { command: "" },
      { command: "cat /etc/passwd" },
      { command: "ls 'open" },
      { command: "ls ".repeat(200) },
    ]) {
      const refused = await t.call("PUT", `/api/v0/instances/command/${id}/`, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body).toMatchObject({ success: false, error: "invalid_args" });
    }
    const stopped = await t.call("PUT", `/api/v0/instances/command/${id}/`, { command: "ls -l" });
    expect(stopped.status).toBe(400);
    expect(stopped.body.msg).toContain("not running");
    expect((await t.call("PUT", `/api/v0/instances/request_logs/${id}/`, { tail: "many" })).status).toBe(400);
    expect((await t.call("PUT", `/api/v0/instances/request_logs/${id}/`, { filter: "x".repeat(201) })).status).toBe(
      400,
    );
    // A pattern that backtracks without end is only text here: answered at once, matching nothing.
    const redos = await t.call("PUT", `/api/v0/instances/request_logs/${id}/`, { filter: "^(a+)+$" });
    expect(redos.status).toBe(200);
    // The daemon log is the market's own record, there even for a machine that never ran.
    const daemon = await t.call("PUT", `/api/v0/instances/request_logs/${id}/`, { daemon_logs: "true", tail: "10" });
    expect(daemon.status).toBe(200);
    expect(daemon.body.success).toBe(true);
    const text = await fetchResult(String(daemon.body.result_url));
    expect(text).toContain(`C.${id} new -> stopped`);
    // An unknown result token is a 404, like object storage before the upload.
    expect((await fetch(`${t.market.url}/results/${"0".repeat(32)}`)).status).toBe(404);
  });

  it("answers the instance balance (no prepaid deposit) for own instances only", async () => {
    const { id } = await createInstance(t, { target_state: "stopped" });
    const balance = await t.call("GET", `/api/v0/instances/balance/${id}/?owner=me`);
    expect(balance.body).toEqual({ success: true, refundable_deposit: 0, total_discount: 0, discount_months: 0 });
    const theirs = await t.call("GET", `/api/v0/instances/balance/${id}/`, undefined, OTHER_KEY);
    expect(theirs.status).toBe(404);
    expect(theirs.body.error).toBe("no_such_instance");
  });

  it("starts, stops and destroys several instances at once, refusing the whole batch on a foreign id", async () => {
    const a = (await createInstance(t, { target_state: "stopped" })).id;
    const b = (await createInstance(t, { target_state: "stopped" })).id;
    const c = (await createInstance(t, { target_state: "stopped" })).id;
    // The other account rents one of its own.
    const theirs = await t.call("POST", "/api/v0/bundles/", { rentable: { eq: true }, limit: 1 }, OTHER_KEY);
    const rented = await t.call(
      "PUT",
      `/api/v0/asks/${theirs.body.offers[0].id}/`,
      { image: "ubuntu", target_state: "stopped" },
      OTHER_KEY,
    );
    const otherId = Number(rented.body.new_contract);
    const refused = await t.call("DELETE", "/api/v0/instances/", { instance_ids: [a, otherId] });
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ success: false, error: "no_such_instance" });
    expect((await t.call("GET", `/api/v0/instances/${a}/`)).body.instances).not.toBeNull();
    expect((await t.call("GET", `/api/v0/instances/${otherId}/`, undefined, OTHER_KEY)).body.instances).not.toBeNull();
    for (const body of [{}, { state: "running" }, { state: "paused", ids: [a] }, { state: "running", ids: [] }]) {
      const bad = await t.call("PUT", "/api/v0/instances/", body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body).toMatchObject({ success: false, error: "invalid_args" });
    }
    const started = await t.call("PUT", "/api/v0/instances/", { state: "running", ids: [a, b] });
    expect(started.status).toBe(200);
    for (const id of [a, b])
      expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances.intended_status).toBe("running");
    const stopped = await t.call("PUT", "/api/v0/instances/", { state: "stopped", ids: [a, b] });
    expect(stopped.body.success).toBe(true);
    for (const id of [a, b])
      expect((await t.call("GET", `/api/v0/instances/${id}/`)).body.instances.cur_state).toBe("stopped");
    const destroyed = await t.call("DELETE", "/api/v0/instances/", { instance_ids: [a, b, c] });
    expect(destroyed.body.success).toBe(true);
    for (const id of [a, b, c])
      expect((await t.call("GET", `/api/v0/instances/${id}/`)).body).toEqual({ instances: null });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { num, rows, startTestMarket, type Json, type TestMarket } from "./helpers";

// Offer search only: no instance is rented here, so no sandbox starts.
describe("offer search (POST /api/v0/bundles/)", () => {
  let t: TestMarket;
  beforeAll(async () => {
    t = await startTestMarket({ seed: 7, machines: 400 });
  });
  afterAll(async () => {
    await t.close();
  });

  const search = async (query: Record<string, unknown>): Promise<Json[]> => {
    const response = await t.call("POST", "/api/v0/bundles/", query, null);
    expect(response.status, response.text.slice(0, 300)).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    return response.body.offers as Json[];
  };

  it("works anonymously, defaults to 64 rows ordered by score desc, and uses Vast's units", async () => {
    const offers = await search({});
    expect(offers).toHaveLength(64);
    const scores = offers.map((o) => o.score as number);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const offer of offers) {
      expect(offer.ask_contract_id).toBe(offer.id);
      expect(typeof offer.machine_id).toBe("number");
      expect(typeof offer.host_id).toBe("number");
      // MB per GPU (an RTX 4090 lists ~24564), MB of machine RAM, GB of disk, Mbps.
      expect(offer.gpu_ram).toBeGreaterThan(8_000);
      expect(offer.gpu_total_ram).toBe(offer.gpu_ram * offer.num_gpus);
      expect(offer.cpu_ram).toBeGreaterThan(16_000);
      expect(offer.disk_space).toBeGreaterThan(10);
      expect(offer.inet_down).toBeGreaterThan(100);
      expect(offer.geolocation).toMatch(/^[^,]*, [A-Z]{2}$/);
      expect(["verified", "unverified", "deverified"]).toContain(offer.verification);
      expect(offer.reliability2).toBeGreaterThanOrEqual(0.6);
      expect(offer.reliability2).toBeLessThanOrEqual(1);
      // dph_total = dph_base + allocated_storage (default 8 GB) × storage_cost ÷ 720.
      expect(offer.dph_total).toBeCloseTo(num(offer.dph_base) + (8 * num(offer.storage_cost)) / 720, 5);
      expect(offer.search.totalHour).toBeCloseTo(num(offer.dph_total), 6);
      expect(offer.min_bid).toBeLessThan(num(offer.dph_base));
      expect(offer.rentable).toBe(true);
      expect(offer.is_bid).toBe(false);
    }
  });

  it("filters gpu_name with spaces, numeric strings, ranges, in and notin", async () => {
    const rtx = await search({ gpu_name: { eq: "RTX 4090" }, num_gpus: { eq: "1" }, limit: 500 });
    expect(rtx.length).toBeGreaterThan(0);
    expect(rtx.every((o) => o.gpu_name === "RTX 4090" && o.num_gpus === 1)).toBe(true);
    // The CLI's underscores are CLI syntax; the server compares the real name.
    expect(await search({ gpu_name: { eq: "RTX_4090" } })).toHaveLength(0);

    const range = await search({ num_gpus: { gte: "2", lte: 4 }, gpu_ram: { gte: 40_000 }, limit: 1000 });
    expect(range.length).toBeGreaterThan(0);
    expect(range.every((o) => o.num_gpus >= 2 && o.num_gpus <= 4 && o.gpu_ram >= 40_000)).toBe(true);

    const models = ["H100 SXM", "A100 SXM4"];
    const inList = await search({ gpu_name: { in: models }, limit: 1000 });
    expect(new Set(inList.map((o) => o.gpu_name as string))).toEqual(new Set(models));
    const notIn = await search({ gpu_name: { notin: ["RTX 4090", "RTX 3090"] }, limit: 10_000 });
    expect(notIn.some((o) => o.gpu_name === "RTX 4090" || o.gpu_name === "RTX 3090")).toBe(false);
    const neq = await search({ verification: { neq: "verified" }, limit: 10_000 });
    expect(neq.length).toBeGreaterThan(0);
    expect(neq.every((o) => o.verification !== "verified")).toBe(true);
    const cheap = await search({ dph_total: { lt: "0.1" }, limit: 10_000 });
    expect(cheap.length).toBeGreaterThan(0);
    expect(cheap.every((o) => o.dph_total < 0.1)).toBe(true);
  });

  it("compares geolocation by country code and maps verified to verification", async () => {
    const northAmerica = await search({ geolocation: { in: ["US", "CA"] }, limit: 10_000 });
    expect(northAmerica.length).toBeGreaterThan(0);
    expect(northAmerica.every((o) => /, (US|CA)$/.test(o.geolocation as string))).toBe(true);
    const notUs = await search({ geolocation: { neq: "US" }, limit: 10_000 });
    expect(notUs.every((o) => !(o.geolocation as string).endsWith(", US"))).toBe(true);
    expect(northAmerica.length + notUs.length).toBeGreaterThan(northAmerica.length);
    // A value that is not a country code compares with the whole "Region, CC" text.
    const sample = String(northAmerica[0].geolocation);
    const exact = await search({ geolocation: { eq: sample }, limit: 10_000 });
    expect(exact.length).toBeGreaterThan(0);
    expect(exact.every((o) => o.geolocation === sample)).toBe(true);

    const verified = await search({ verified: { eq: true }, limit: 10_000 });
    expect(verified.length).toBeGreaterThan(0);
    expect(verified.every((o) => o.verification === "verified")).toBe(true);
    const unverified = await search({ verified: { eq: "false" }, limit: 10_000 });
    expect(unverified.every((o) => o.verification !== "verified")).toBe(true);
    const datacenter = await search({ datacenter: { eq: true }, limit: 10_000 });
    expect(datacenter.every((o) => o.hosting_type >= 1)).toBe(true);
  });

  it("orders, limits (max 10000), prices storage and answers type bid from min_bid", async () => {
    const byPrice = await search({ order: [["dph_total", "asc"]], limit: 20 });
    const prices = byPrice.map((o) => o.dph_total as number);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expect(byPrice.map((o) => o.rn as number)).toEqual(Array.from({ length: 20 }, (_, i) => i));

    const all = await search({ limit: 50_000 });
    expect(all.length).toBeLessThanOrEqual(10_000);
    expect(all.length).toBeGreaterThan(400);

    const storage = await search({ allocated_storage: 100, order: [["id", "asc"]], limit: 3 });
    for (const offer of storage) {
      expect(offer.storage_total_cost).toBeCloseTo((100 * offer.storage_cost) / 720, 6);
      expect(offer.dph_total).toBeCloseTo(num(offer.dph_base) + (100 * num(offer.storage_cost)) / 720, 5);
    }

    for (const type of ["bid", "interruptible"]) {
      const bids = await search({ type, order: [["id", "asc"]], limit: 5 });
      for (const offer of bids) {
        expect(offer.is_bid).toBe(true);
        expect(offer.dph_total).toBeCloseTo(num(offer.min_bid) + (8 * num(offer.storage_cost)) / 720, 5);
      }
    }
    for (const type of ["on-demand", "ondemand"]) {
      const [offer] = await search({ type, order: [["id", "asc"]], limit: 1 });
      expect(offer.is_bid).toBe(false);
      expect(offer.dph_total).toBeCloseTo(num(offer.dph_base) + (8 * num(offer.storage_cost)) / 720, 5);
    }
  });

  it("ignores unknown keys, accepts the legacy GET ?q= and the path without trailing slash", async () => {
    const withUnknown = await search({ no_such_field: { eq: 3 }, compute_capability: { gte: 900 }, limit: 5 });
    expect(withUnknown).toHaveLength(5);
    const q = encodeURIComponent(JSON.stringify({ gpu_name: { eq: "RTX 3090" }, limit: 3 }));
    const legacy = await t.call("GET", `/api/v0/bundles/?q=${q}`, undefined, null);
    expect(legacy.status).toBe(200);
    expect(legacy.body.offers.length).toBeGreaterThan(0);
    expect(rows(legacy.body.offers).every((o) => o.gpu_name === "RTX 3090")).toBe(true);
    const noSlash = await t.call("POST", "/api/v0/bundles", { limit: 2 }, null);
    expect(noSlash.status).toBe(200);
    expect(noSlash.body.offers).toHaveLength(2);
    const bad = await fetch(`${t.market.url}/api/v0/bundles/`, {
      method: "POST",
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ success: false, error: "invalid_request" });
  });

  it("is deterministic per seed", async () => {
    const other = await startTestMarket({ seed: 7, machines: 400 });
    const different = await startTestMarket({ seed: 8, machines: 400 });
    try {
      const query = { order: [["id", "asc"]], limit: 50 };
      const strip = (offers: Json[]): unknown[][] =>
        offers.map((o): unknown[] => [o.id, o.gpu_name, o.dph_base, o.geolocation, o.reliability2]);
      const mine = strip(await search(query));
      const again = await other.call("POST", "/api/v0/bundles/", query, null);
      expect(strip(again.body.offers as Json[])).toEqual(mine);
      const changed = await different.call("POST", "/api/v0/bundles/", query, null);
      expect(strip(changed.body.offers as Json[])).not.toEqual(mine);
    } finally {
      await other.close();
      await different.close();
    }
  });
});

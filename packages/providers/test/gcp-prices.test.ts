import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { gcpPriceTable, isKnownMachineType, standbyHourlyPrice } from "@dumont/providers";

const MACHINE_TYPES = [
  "e2-micro",
  "e2-small",
  "e2-medium",
  "e2-standard-2",
  "e2-standard-4",
  "e2-standard-8",
  "n2-standard-2",
  "n2-standard-4",
];

describe("GCP standby prices", () => {
  it("has every machine type, with where and when the figures come from", () => {
    const table = gcpPriceTable();
    expect(table.machine_types.map((type) => type.name)).toEqual(MACHINE_TYPES);
    expect(table.as_of).toMatch(/^\d{4}-\d{2}/);
    expect(table.source.some((url) => url.startsWith("https://cloud.google.com/"))).toBe(true);
    expect(table.region).toBe("us-central1");
    expect(table.spot_note).toMatch(/dynamic/);
    for (const type of table.machine_types) {
      expect(type.spot_hourly).toBeLessThan(type.on_demand_hourly);
      expect(type.memory_gb).toBeGreaterThan(0);
    }
    expect(table.disks["pd-balanced"].per_gb_month).toBeGreaterThan(table.disks["pd-standard"].per_gb_month);
    for (const name of MACHINE_TYPES) expect(isKnownMachineType(name)).toBe(true);
    expect(isKnownMachineType("a2-highgpu-1g")).toBe(false);
    expect(isKnownMachineType("constructor")).toBe(false);
  });

  it("adds the disk's month spread over 730 hours to the machine's hour", () => {
    const table = gcpPriceTable();
    const medium = table.machine_types.find((type) => type.name === "e2-medium");
    const perGb = table.disks["pd-standard"].per_gb_month;
    const price = standbyHourlyPrice({ machineType: "e2-medium", diskGb: 100, spot: false });
    expect(price.vmHourly).toBe(medium?.on_demand_hourly);
    expect(price.diskMonthly).toBeCloseTo(100 * perGb, 6);
    expect(price.hourly).toBeCloseTo((medium?.on_demand_hourly ?? 0) + (100 * perGb) / 730, 6);
    expect(price.monthly).toBeCloseTo(price.hourly * 730, 3);
    const spot = standbyHourlyPrice({ machineType: "e2-medium", diskGb: 100, spot: true });
    expect(spot.vmHourly).toBe(medium?.spot_hourly);
    expect(spot.diskMonthly).toBe(price.diskMonthly);
    const balanced = standbyHourlyPrice({ machineType: "e2-medium", diskGb: 100, spot: true, diskType: "pd-balanced" });
    expect(balanced.diskMonthly).toBeCloseTo(100 * table.disks["pd-balanced"].per_gb_month, 6);
  });

  it("refuses an unknown machine type, listing the known ones", () => {
    expect(() => standbyHourlyPrice({ machineType: "m3-ultramem-128", diskGb: 10, spot: false })).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED", message: expect.stringContaining("e2-standard-2, ") }),
    );
    expect(() => standbyHourlyPrice({ machineType: "e2-micro", diskGb: -1, spot: false })).toThrow(/disk/);
  });

  it("is inlined by the build's bundler (the server bundle has no data folder beside it)", async () => {
    // The options of tools/build.mjs that matter here: bundle, node, CommonJS.
    const dir = mkdtempSync(join(tmpdir(), "gcp-prices-bundle-"));
    const entry = join(dir, "entry.ts");
    const source = resolve(import.meta.dirname, "../src/gcp/gcp-prices.ts");
    writeFileSync(
      entry,
      `import { gcpPriceTable } from ${JSON.stringify(source)};\nconsole.log(JSON.stringify(gcpPriceTable()));\n`,
    );
    await build({
      entryPoints: [entry],
      outfile: join(dir, "out.cjs"),
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      logLevel: "error",
      external: ["better-sqlite3", "pg-native", "cpu-features", "ssh2"],
    });
    const printed = execFileSync(process.execPath, [join(dir, "out.cjs")], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(printed)).toEqual(gcpPriceTable());
  });
});

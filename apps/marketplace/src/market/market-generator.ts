import { Rng, round } from "../random";
import { GPU_MODELS } from "./gpu-catalog";
import { LOCATIONS, type Location } from "./geography";
import type { Machine } from "./machine";

export interface GenerateOptions {
  seed: number;
  machines: number;
  /** Simulated epoch seconds at market start (listing dates count from it). */
  nowS: number;
}

const DISK_NAMES = [
  "Samsung SSD 980 PRO 2TB",
  "WD_BLACK SN850X 4TB",
  "KIOXIA KCD8XRUG7T68",
  "Micron 7450 MTFDKCC3T8TFR",
];
const MOBOS = ["ROMED8-2T", "X570 AORUS MASTER", "H12SSL-i", "PRO WS WRX80E-SAGE SE WIFI", "Z790 AORUS ELITE AX"];
const DRIVERS = [
  ["535.183.01", 12.2],
  ["550.127.05", 12.4],
  ["560.35.03", 12.6],
  ["570.124.04", 12.8],
  ["575.57.08", 12.9],
  ["580.65.06", 13.0],
] as const;

/**
 * Draws the seeded market of vast-api.md §6.4: hosts owning 1–4 machines, prices log-normal
 * around the §5 medians (±35 %), 70/30 verified, bimodal bandwidth, ~15 % hosts without direct
 * ports. Only the seed and the machine count decide the result.
 */
export function generateMachines(options: GenerateOptions): Machine[] {
  const rng = Rng.derive(options.seed, "market");
  const machines: Machine[] = [];
  let hostIndex = 0;
  while (machines.length < options.machines) {
    const host = drawHost(rng, hostIndex++);
    const owned = Math.min(
      rng.weighted([
        [1, 60],
        [2, 25],
        [3, 10],
        [4, 5],
      ] as const),
      options.machines - machines.length,
    );
    for (let i = 0; i < owned; i++) machines.push(drawMachine(rng, host, machines.length, options.nowS));
  }
  return machines;
}

interface Host {
  hostId: number;
  location: Location;
  verification: Machine["verification"];
  datacenter: boolean;
  reliability2: number;
  directPorts: boolean;
}

function drawHost(rng: Rng, index: number): Host {
  const location = rng.weighted(LOCATIONS.map((l) => [l, l.weight] as const));
  const datacenter = rng.chance(0.2);
  const verified = datacenter || rng.chance(0.65);
  // Verified hosts: 1 − reliability log-uniform in [1e-4, 0.05]; others mostly 0.85–0.99 with a
  // 10 % tail down to the 0.60 a new machine starts at (vast-api.md §5).
  const reliability2 = verified
    ? 1 - rng.logUniform(1e-4, 0.05)
    : rng.chance(0.1)
      ? rng.uniform(0.6, 0.85)
      : rng.uniform(0.85, 0.99);
  return {
    hostId: 100_000 + index * 7 + rng.int(0, 6),
    location,
    verification: verified ? "verified" : rng.chance(0.1) ? "deverified" : "unverified",
    datacenter,
    reliability2: round(reliability2, 4),
    directPorts: !rng.chance(0.15),
  };
}

function drawMachine(rng: Rng, host: Host, index: number, nowS: number): Machine {
  const model = rng.weighted(
    GPU_MODELS.map((m) => [m, host.datacenter ? (m.datacenter ? m.weight * 3 : m.weight * 0.3) : m.weight] as const),
  );
  const gpuCount = rng.weighted(model.counts);
  const cpuCores = model.datacenter ? rng.pick([32, 64, 96, 128, 192]) : rng.pick([8, 12, 16, 24, 32]);
  const fastNet = host.datacenter || rng.chance(0.35);
  const [driverVersion, cuda] = rng.pick(DRIVERS);
  const dphBasePerGpu = rng.logNormal(model.medianPrice, 0.35);
  const portStart = rng.int(10_000, 60_000);
  const portCount = host.directPorts ? rng.pick([16, 32, 64, 128, 256]) : 0;
  const listedAtS = nowS - rng.uniform(3, 400) * 86_400;
  return {
    machineId: 10_001 + index,
    hostId: host.hostId,
    model,
    gpuCount,
    cpuName: rng.pick(model.cpuNames),
    cpuCores,
    cpuGhz: round(rng.uniform(2.2, 5.4), 1),
    cpuRamMb: gpuCount * rng.pick([32, 64, 128, 256]) * 1024 + rng.int(-600, 0),
    diskTotalGb: Math.round(gpuCount * rng.pick([100, 200, 400, 800, 1600]) * rng.uniform(0.8, 1)),
    diskBwMbs: round(rng.uniform(900, 7000), 1),
    diskName: rng.pick(DISK_NAMES),
    moboName: rng.pick(MOBOS),
    inetUpMbps: round(fastNet ? rng.uniform(2000, 10_000) : rng.uniform(300, 1000), 1),
    inetDownMbps: round(fastNet ? rng.uniform(2000, 10_000) : consumerDownlinkMbps(rng.uniform(0, 1)), 1),
    inetUpCostPerGb: round(rng.chance(0.5) ? 0 : rng.uniform(0.001, 0.02), 4),
    inetDownCostPerGb: round(rng.chance(0.6) ? 0 : rng.uniform(0.001, 0.01), 4),
    directPortStart: portCount > 0 ? portStart : -1,
    directPortEnd: portCount > 0 ? portStart + portCount - 1 : -1,
    staticIp: host.datacenter || rng.chance(0.4),
    location: host.location,
    verification: host.verification,
    hostingType: host.datacenter ? 1 : 0,
    reliability2: host.reliability2,
    cudaMaxGood: cuda,
    driverVersion,
    pciGen: model.datacenter ? rng.pick([4, 5]) : rng.pick([3, 4]),
    gpuLanes: rng.pick([8, 16]),
    pcieBwGbs: round(rng.uniform(6, 52), 1),
    bwNvlinkGbs: model.datacenter && gpuCount >= 4 ? rng.pick([0, 300, 600, 900]) : 0,
    storageCostPerGbMonth: round(rng.uniform(0.1, 0.3), 4),
    dphBasePerGpu: round(dphBasePerGpu, 4),
    // 40–60 % of the on-demand price (vast-api.md §6.4).
    minBidFloorPerGpu: round(dphBasePerGpu * rng.uniform(0.4, 0.6), 4),
    listedAtS,
    endDateS: nowS + rng.uniform(14, 180) * 86_400,
    boot: {
      schedulingMinS: 2,
      schedulingMaxS: rng.uniform(4, 10),
      loadingMedianS: rng.logUniform(20, 180),
    },
    usedGpus: 0,
    phantomGpus: 0,
    competingBidPerGpu: 0,
    online: true,
  };
}

/**
 * A consumer host's download speed from one uniform draw (one draw, as before, so every other
 * field of the seeded market stays what it was): a third on slow residential links (120–500 Mbps,
 * the `slow` tier), the rest 500–2000 Mbps (`medium`). Datacenter-class links (2000–10000) cover
 * `fast` and `ultra`, so each speed tier the control plane offers has machines, as on Vast.
 */
function consumerDownlinkMbps(u: number): number {
  const slowShare = 1 / 3;
  if (u < slowShare) return 120 + (500 - 120) * (u / slowShare);
  return 500 + (2000 - 500) * ((u - slowShare) / (1 - slowShare));
}

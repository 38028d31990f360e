import { minBidFor } from "../market/machine";
import { round } from "../random";
import { hourlyCost } from "./billing";
import { billsCompute, type Instance } from "./instance";

/**
 * The instance object of `GET /api/v0/instances/{id}/` and the v1 list (vast-api.md §3.3): Vast's
 * field names and units (MB, GB, $/h, epoch seconds). `ports` only while running, HostPort a string.
 */
export function instanceObject(instance: Instance, nowMs: number, host: string): Record<string, unknown> {
  const m = instance.machine;
  const model = m.model;
  const n = instance.numGpus;
  const running = instance.phase === "running";
  const sshPort = instance.ssh?.port ?? null;
  const diskPerHour = (instance.diskGb * instance.storageCostPerGbMonth) / 720;
  const computePerHour = instance.bid ?? instance.dphBase;
  const dphTotal = round(computePerHour + diskPerHour, 6);
  const billedNow = hourlyCost(instance);
  const ports: Record<string, { HostIp: string; HostPort: string }[]> | null =
    running && sshPort !== null && m.directPortStart >= 0
      ? { "22/tcp": [{ HostIp: "0.0.0.0", HostPort: String(sshPort) }] }
      : null;
  if (ports) {
    for (const port of instance.exposedPorts) {
      const hostPort = instance.forwards?.hostPort(port);
      if (hostPort !== undefined) ports[`${port}/tcp`] = [{ HostIp: "0.0.0.0", HostPort: String(hostPort) }];
    }
  }
  const startS = instance.startDateMs / 1000;
  return {
    id: instance.id,
    machine_id: m.machineId,
    host_id: m.hostId,
    bundle_id: instance.slot.id + 500_000_000,
    ask_contract_id: instance.slot.id,
    label: instance.label,
    actual_status: instance.actualStatus,
    intended_status: instance.intendedStatus,
    cur_state: instance.curState,
    next_state: instance.nextState,
    status_msg: instance.statusMsg,
    is_bid: instance.bid !== null,
    min_bid: round(minBidFor(m, n), 6),
    template_id: null,
    template_hash_id: null,
    template_name: null,
    time_remaining: "",
    time_remaining_isbid: "",
    image_uuid: instance.image,
    image_args: instance.args ?? [],
    image_runtype: instance.runtype,
    extra_env: instance.extraEnv,
    onstart: instance.onstart,
    jupyter_token: instance.jupyterToken,
    public_ipaddr: host,
    local_ipaddrs: `${host}\n`,
    ssh_host: host,
    ssh_port: sshPort,
    ssh_idx: "1",
    machine_dir_ssh_port: null,
    ports,
    direct_port_start: m.directPortStart,
    direct_port_end: m.directPortEnd,
    direct_port_count: m.directPortStart < 0 ? 0 : m.directPortEnd - m.directPortStart + 1,
    static_ip: m.staticIp,
    start_date: round(startS, 3),
    end_date: round(m.endDateS, 3),
    duration: round(nowMs / 1000 - startS, 3),
    uptime_mins: instance.runningSinceMs === null ? null : round((nowMs - instance.runningSinceMs) / 60_000, 3),
    client_run_time: null,
    host_run_time: null,
    num_gpus: n,
    gpu_name: model.name,
    gpu_arch: "nvidia",
    gpu_ram: model.ramMb,
    gpu_totalram: model.ramMb * n,
    gpu_frac: round(n / m.gpuCount, 4),
    gpu_lanes: m.gpuLanes,
    gpu_mem_bw: model.memBandwidthGbs,
    bw_nvlink: m.bwNvlinkGbs,
    compute_cap: model.computeCap,
    cpu_name: m.cpuName,
    cpu_arch: "amd64",
    cpu_cores: m.cpuCores,
    cpu_cores_effective: round((m.cpuCores * n) / m.gpuCount, 2),
    cpu_ram: m.cpuRamMb,
    disk_name: m.diskName,
    disk_space: instance.diskGb,
    disk_bw: m.diskBwMbs,
    mobo_name: m.moboName,
    pci_gen: m.pciGen,
    pcie_bw: m.pcieBwGbs,
    os_version: "22.04",
    cuda_max_good: m.cudaMaxGood,
    driver_version: m.driverVersion,
    gpu_util: running ? instance.gpuUtil : null,
    gpu_temp: running ? Math.round(32 + instance.gpuUtil * 0.45) : null,
    cpu_util: running ? 0.01 : null,
    mem_usage: running ? 0.5 : null,
    mem_limit: running ? round((m.cpuRamMb * n) / m.gpuCount / 1024, 1) : null,
    vmem_usage: running ? round((model.ramMb * instance.gpuUtil) / 100 / 1024, 2) : null,
    disk_usage: null,
    disk_util: null,
    dph_base: instance.dphBase,
    dph_total: dphTotal,
    storage_cost: instance.storageCostPerGbMonth,
    storage_total_cost: round(diskPerHour, 7),
    inet_up: m.inetUpMbps,
    inet_down: m.inetDownMbps,
    inet_up_cost: m.inetUpCostPerGb,
    inet_down_cost: m.inetDownCostPerGb,
    vram_costperhour: round(computePerHour / (model.ramMb * n), 9),
    dlperf: round(model.dlperf * n, 4),
    dlperf_per_dphtotal: round((model.dlperf * n) / dphTotal, 4),
    total_flops: round(model.tflops * n, 2),
    flops_per_dphtotal: round((model.tflops * n) / dphTotal, 4),
    score: instance.slot.fixed.score ?? null,
    search: {
      gpuCostPerHour: round(computePerHour, 6),
      diskHour: round(diskPerHour, 6),
      totalHour: dphTotal,
      discountTotalHour: 0,
      discountedTotalPerHour: dphTotal,
    },
    // What it bills now: stopped → disk only.
    instance: {
      gpuCostPerHour: billsCompute(instance.phase) ? round(computePerHour, 6) : 0,
      diskHour: round(diskPerHour, 6),
      totalHour: round(billedNow, 6),
      discountTotalHour: 0,
      discountedTotalPerHour: round(billedNow, 6),
    },
    credit_balance: null,
    credit_discount: null,
    credit_discount_max: 0.4,
    reliability2: m.reliability2,
    verification: m.verification,
    geolocation: instance.slot.fixed.geolocation ?? null,
    country_code: m.location.country,
    rentable: false,
    hosting_type: m.hostingType,
    external: false,
    webpage: null,
    logo: "/static/logos/vastai_small2.png",
  };
}

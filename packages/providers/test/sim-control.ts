/** Drives the local marketplace's /sim control API (test-only faults and knobs). */
export class SimControl {
  constructor(
    private readonly url: string,
    private readonly apiKey: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(new URL(path, this.url), {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  fault(
    machineId: string,
    kind: "boot_failure" | "outbid" | "host_offline" | "host_online" | "ssh_drop" | "gpu_taken" | "exit",
  ) {
    return this.call("POST", `/sim/instances/${machineId}/faults`, { kind });
  }

  gpuUtilization(machineId: string, utilization: number) {
    return this.call("PUT", `/sim/instances/${machineId}/gpu`, { utilization });
  }

  apiFaults(rate429: number, rate5xx: number) {
    return this.call("POST", "/sim/api-faults", { rate_429: rate429, rate_5xx: rate5xx });
  }

  hostBootFailure(hostMachineId: string, probability: number) {
    return this.call("POST", `/sim/hosts/${hostMachineId}/boot-failure`, { probability });
  }
}

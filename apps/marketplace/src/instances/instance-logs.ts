import type { SimClock } from "../clock";
import type { Instance, Phase } from "./instance";
import type { InstanceManager } from "./instance-manager";

/** Lines kept per instance (each kind); the oldest go first. */
const MAX_LINES = 2000;

interface InstanceLog {
  /** What Vast's host daemon says about the instance: every state change with its message. */
  daemon: string[];
  /** What the container printed that the market knows of: starts, exits and boot errors. */
  container: string[];
}

/**
 * The logs `PUT /instances/request_logs/{id}/` serves (vast-api.md §3.8). The market writes the
 * daemon log itself from every phase change (the instance's status history, in simulated time);
 * the container log has the container's starts and failures, and the request adds what the
 * machine's `onstart` printed, read from inside the machine. Forgotten when the instance is
 * destroyed, as its logs are on Vast.
 */
export class InstanceLogs {
  private readonly logs = new Map<number, InstanceLog>();

  constructor(
    manager: InstanceManager,
    private readonly clock: SimClock,
  ) {
    manager.onPhase((instance, from, to) => this.record(instance, from, to));
  }

  daemonLines(id: number): readonly string[] {
    return this.logs.get(id)?.daemon ?? [];
  }

  containerLines(id: number): readonly string[] {
    return this.logs.get(id)?.container ?? [];
  }

  private record(instance: Instance, from: Phase, to: Phase): void {
    if (to === "destroyed") {
      this.logs.delete(instance.id);
      return;
    }
    let log = this.logs.get(instance.id);
    if (!log) {
      log = { daemon: [], container: [] };
      this.logs.set(instance.id, log);
    }
    const at = new Date(this.clock.now()).toISOString();
    const detail = instance.statusMsg ? `: ${instance.statusMsg}` : "";
    append(
      log.daemon,
      `${at} [daemon] C.${instance.id} ${from} -> ${to} (actual_status ${instance.actualStatus ?? "null"})${detail}`,
    );
    const container = containerLine(instance, to);
    if (container) append(log.container, `${at} ${container}`);
  }
}

function containerLine(instance: Instance, to: Phase): string | undefined {
  switch (to) {
    case "running":
      return `container started from ${instance.image} (runtype ${instance.runtype})`;
    case "rebooting":
      return "container restarting (reboot requested)";
    case "failed":
    case "offline":
      return instance.statusMsg ?? `container ${to}`;
    case "stopped":
      return "container stopped";
    case "new":
    case "scheduling":
    case "loading":
    case "queued":
    case "destroyed":
      return undefined;
  }
}

function append(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
}

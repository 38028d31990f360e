import type { Logger } from "pino";
import type { SimClock } from "../clock";
import type { Machine } from "../market/machine";
import type { FaultProfile, HostFaults } from "../profiles";
import { Rng } from "../random";
import type { Instance, Phase } from "./instance";
import type { InstanceManager } from "./instance-manager";

const MS_PER_HOUR = 3_600_000;

export interface FaultSchedulerOptions {
  clock: SimClock;
  seed: number;
  profile: FaultProfile;
  hostFaults: (machine: Machine) => HostFaults;
  logger: Logger;
}

/**
 * The profile's spontaneous faults, drawn from the seed: while an instance runs, its host may drop
 * offline (and come back), an interruptible may be outbid, SSH connections may drop; when an
 * instance stops, another renter may grab its GPUs so the next start queues. Each running stretch
 * draws from its own stream (instance id + boot number).
 */
export class FaultScheduler {
  constructor(
    private readonly manager: InstanceManager,
    private readonly options: FaultSchedulerOptions,
  ) {
    manager.onPhase((instance, from, to) => this.onPhase(instance, from, to));
  }

  private onPhase(instance: Instance, from: Phase, to: Phase): void {
    const profile = this.options.profile;
    if (to === "running") this.armRunning(instance);
    if (to === "stopped" && from !== "queued" && profile.gpuTakenOnStop > 0) {
      const rng = Rng.derive(this.options.seed, "taken-on-stop", instance.id, instance.bootCount);
      if (rng.chance(profile.gpuTakenOnStop)) {
        const durationS = rng.uniform(profile.gpuTakenMinS, profile.gpuTakenMaxS);
        this.manager.phantoms.takeFree(instance.machine, "renter", durationS * 1000);
      }
    }
  }

  private armRunning(instance: Instance): void {
    const profile = this.options.profile;
    const rng = Rng.derive(this.options.seed, "running", instance.id, instance.bootCount);
    const host = this.options.hostFaults(instance.machine);
    if (host.offlinePerHour > 0) {
      this.manager.phaseTimer(instance, rng.exponential(host.offlinePerHour) * MS_PER_HOUR, () => {
        const machine = instance.machine;
        const awayS = rng.uniform(profile.offlineMinS, profile.offlineMaxS);
        this.options.logger.info({ machine: machine.machineId, awayS }, "fault: host offline");
        void this.manager.hostOffline(machine);
        this.options.clock.after(awayS * 1000, () => {
          if (!machine.online) this.manager.hostOnline(machine);
        });
      });
    }
    if (instance.bid !== null && profile.outbidPerHour > 0) {
      this.manager.phaseTimer(instance, rng.exponential(profile.outbidPerHour) * MS_PER_HOUR, () => {
        this.options.logger.info({ instance: instance.id }, "fault: outbid");
        void this.manager.outbid(instance);
      });
    }
    if (profile.sshDropPerHour > 0) this.armSshDrop(instance, rng);
  }

  private armSshDrop(instance: Instance, rng: Rng): void {
    this.manager.phaseTimer(instance, rng.exponential(this.options.profile.sshDropPerHour) * MS_PER_HOUR, () => {
      const dropped = this.manager.dropSsh(instance);
      this.options.logger.info({ instance: instance.id, dropped }, "fault: ssh drop");
      this.armSshDrop(instance, rng);
    });
  }
}

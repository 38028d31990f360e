import type { SimClock, SimTimer } from "../clock";
import { freeGpus, type Machine } from "../market/machine";

/**
 * Other renters of the simulated market, who are not accounts here: an on-demand renter who takes
 * GPUs for a while (start then queues), or a higher interruptible bidder (outbid). A bidder loses
 * the GPUs to any bid above theirs.
 */
export interface PhantomLease {
  machine: Machine;
  kind: "renter" | "bidder";
  gpus: number;
  durationMs: number;
  timer: SimTimer | undefined;
}

export class PhantomRenters {
  private readonly leases = new Set<PhantomLease>();

  constructor(
    private readonly clock: SimClock,
    /** Called after GPUs return to the machine (queued starts may go now). */
    private readonly onRelease: (machine: Machine) => void,
  ) {}

  /** Takes every free GPU of the machine for `durationMs` simulated ms. */
  takeFree(machine: Machine, kind: PhantomLease["kind"], durationMs: number): PhantomLease {
    const lease: PhantomLease = { machine, kind, gpus: 0, durationMs, timer: undefined };
    this.leases.add(lease);
    this.grow(lease, freeGpus(machine));
    return lease;
  }

  /**
   * Adds GPUs (released by an instance) to a lease and restarts its clock. A lease that holds
   * nothing yet (waiting for an instance to stop) does not run out.
   */
  grow(lease: PhantomLease, gpus: number): void {
    if (!this.leases.has(lease)) return;
    const taken = Math.min(gpus, freeGpus(lease.machine));
    lease.gpus += taken;
    lease.machine.phantomGpus += taken;
    if (lease.gpus === 0) return;
    lease.timer?.cancel();
    lease.timer = this.clock.after(lease.durationMs, () => this.end(lease));
  }

  end(lease: PhantomLease): void {
    if (!this.leases.delete(lease)) return;
    lease.timer?.cancel();
    lease.machine.phantomGpus = Math.max(0, lease.machine.phantomGpus - lease.gpus);
    if (lease.kind === "bidder" && !this.has(lease.machine, "bidder")) lease.machine.competingBidPerGpu = 0;
    this.onRelease(lease.machine);
  }

  /** Ends the machine's leases (of one kind, or all). */
  endAll(machine: Machine, kind?: PhantomLease["kind"]): number {
    let ended = 0;
    for (const lease of [...this.leases]) {
      if (lease.machine === machine && (kind === undefined || lease.kind === kind)) {
        this.end(lease);
        ended++;
      }
    }
    return ended;
  }

  has(machine: Machine, kind: PhantomLease["kind"]): boolean {
    for (const lease of this.leases) if (lease.machine === machine && lease.kind === kind) return true;
    return false;
  }

  close(): void {
    for (const lease of this.leases) lease.timer?.cancel();
    this.leases.clear();
  }
}

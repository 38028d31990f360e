import {
  DEPLOYMENT_MACHINE,
  billedSeconds,
  isTerminal,
  machineCost,
  roundCostUsd,
  type DeploymentStatus,
} from "@dumont/core";
import type { DeploymentsRepository, InstanceRow, InstancesRepository, JobRow } from "@dumont/db";

/** One machine rented for a job: what it was for and what it cost. */
export interface JobMachineCost {
  attempt: number;
  instance_id: string;
  deployment_id: string | null;
  /** winner: the machine the attempt ran on; loser: another candidate of its race; racing: the race is still on. */
  role: "winner" | "loser" | "racing";
  status: string;
  gpu_name: string;
  /** Billed seconds: from its create call to its confirmed destroy (or now); null = not rented yet. */
  seconds: number | null;
  /** $/h it bills at: compute plus storage for its disk. */
  dph_total: number;
  cost_usd: number;
}

export interface JobCost {
  machines: JobMachineCost[];
  /** The sum of the machines' costs: what the user paid for the job. */
  total_usd: number;
}

interface AttemptEntry {
  attempt: number;
  instance_id: string | null;
}

/**
 * What a job cost: every machine rented for it, each at its own price, with `machineCost` (the
 * formula spending caps use). Each attempt is a wizard race (a deployment); its candidates are
 * the instances carrying its deployment id, race losers included. Earlier attempts' races are
 * found through the machines the job's attempts list names; the current one is on the job row.
 */
export class JobCosts {
  constructor(
    private readonly deps: {
      instances: InstancesRepository;
      deployments: DeploymentsRepository;
      now: () => number;
    },
  ) {}

  async of(row: JobRow): Promise<JobCost> {
    const now = this.deps.now();
    const entries = JSON.parse(row.attempts) as AttemptEntry[];
    // Which race (deployment) each attempt ran, and machines outside any race (none today).
    const races = new Map<string, number>();
    const loose = new Map<string, { attempt: number; instance: InstanceRow }>();
    for (const entry of entries) {
      if (!entry.instance_id) continue;
      const instance = await this.deps.instances.findById(entry.instance_id);
      if (!instance || instance.owner_id !== row.owner_id) continue;
      if (instance.deployment_id) races.set(instance.deployment_id, entry.attempt);
      else loose.set(instance.id, { attempt: entry.attempt, instance });
    }
    if (row.deployment_id) races.set(row.deployment_id, row.attempt);

    const machines: JobMachineCost[] = [];
    const seen = new Set<string>();
    for (const [deploymentId, attempt] of races) {
      const deployment = await this.deps.deployments.findOwned(row.owner_id, deploymentId);
      const decided =
        deployment !== undefined &&
        (deployment.winner_instance_id !== null ||
          isTerminal(DEPLOYMENT_MACHINE, deployment.status as DeploymentStatus) ||
          deployment.status === "cleanup");
      for (const instance of await this.deps.deployments.candidates(deploymentId)) {
        if (instance.owner_id !== row.owner_id || seen.has(instance.id)) continue;
        seen.add(instance.id);
        const role = instance.id === deployment?.winner_instance_id ? "winner" : decided ? "loser" : "racing";
        machines.push(costLine(instance, { attempt, deploymentId, role }, now));
      }
    }
    for (const { attempt, instance } of loose.values()) {
      if (seen.has(instance.id)) continue;
      machines.push(costLine(instance, { attempt, deploymentId: null, role: "winner" }, now));
    }
    machines.sort((a, b) => a.attempt - b.attempt || rank(a.role) - rank(b.role));
    return { machines, total_usd: roundCostUsd(machines.reduce((sum, m) => sum + m.cost_usd, 0)) };
  }
}

function costLine(
  instance: InstanceRow,
  part: { attempt: number; deploymentId: string | null; role: JobMachineCost["role"] },
  now: number,
): JobMachineCost {
  const seconds = billedSeconds(instance, now);
  return {
    attempt: part.attempt,
    instance_id: instance.id,
    deployment_id: part.deploymentId,
    role: part.role,
    status: instance.status,
    gpu_name: instance.gpu_name,
    seconds: seconds === null ? null : Math.round(seconds * 10) / 10,
    dph_total: instance.price_per_hour,
    cost_usd: roundCostUsd(machineCost(instance, now)),
  };
}

function rank(role: JobMachineCost["role"]): number {
  return role === "winner" ? 0 : role === "racing" ? 1 : 2;
}

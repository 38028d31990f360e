import { formatFields, formatTable } from "../../output";
import { SIMULATED_BANNER, duration, perHour, usd } from "../../money";

/** One machine rented for a job, as the API reports it. */
export interface JobMachineLike {
  attempt: number;
  instance_id: string;
  role: string;
  status: string;
  gpu_name: string;
  seconds: number | null;
  dph_total: number;
  cost_usd: number;
}

export interface JobLike {
  id: string;
  name: string;
  status: string;
  source: string;
  gpu_type: string | null;
  use_spot: boolean;
  attempt: number;
  exit_code: number | null;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration: string;
  gpu_hours: number;
  total_cost: number;
  simulated: boolean;
  machines: JobMachineLike[];
  instance_id: string | null;
  attempts: { attempt: number; instance_id: string | null; reason: string }[];
}

export const JOB_FINAL = ["completed", "failed", "cancelled", "timed_out"];

/** The job's cost, or "—" while nothing has been rented for it. */
function costOf(j: JobLike): string {
  return j.machines.some((m) => m.seconds !== null) ? usd(j.total_cost) : "—";
}

export function jobTable(jobs: JobLike[]): string {
  if (jobs.length === 0) return "No jobs. Start one with `dumont job create <name> --command=…`.";
  const simulated = jobs.filter((j) => j.simulated).length;
  const mixed = simulated > 0 && simulated < jobs.length;
  const table = formatTable(
    ["id", "name", "status", "gpu", "type", "attempt", "exit", "duration", "machines", "cost"],
    jobs.map((j) => [
      j.id,
      mixed && j.simulated ? `${j.name} [SIMULATED]` : j.name,
      j.status,
      j.gpu_type ?? "any",
      j.use_spot ? "spot" : "on-demand",
      j.attempt,
      j.exit_code,
      j.duration,
      j.machines.length,
      costOf(j),
    ]),
  );
  const lines: string[] = [];
  if (simulated > 0) lines.push(mixed ? `[SIMULATED] = ${SIMULATED_BANNER}` : `[${SIMULATED_BANNER}]`);
  lines.push(table, "", "cost = every machine rented for the job (race losers included), each at its own price.");
  return lines.join("\n");
}

export function jobDetails(j: JobLike): string {
  const lines = [
    formatFields({
      id: j.id,
      name: j.name,
      status: j.status,
      market: j.simulated ? "SIMULATED local marketplace (no real GPUs, no money spent)" : "vast.ai",
      source: j.source,
      gpu: j.gpu_type ?? "any",
      type: j.use_spot ? "spot (interruptible)" : "on-demand",
      attempt: j.attempt,
      machine: j.instance_id,
      "exit code": j.exit_code,
      error: j.error_message,
      created: j.created_at,
      started: j.started_at,
      finished: j.completed_at,
      duration: j.duration,
      "gpu hours": j.gpu_hours,
      cost:
        j.machines.length === 0
          ? "— (no machine rented yet)"
          : `${usd(j.total_cost)}: ${j.machines.length} machine(s), race losers included, each from its create call to its confirmed destroy at its own $/h (compute + storage for its disk)`,
    }),
  ];
  if (j.machines.length > 0) {
    lines.push(
      "",
      formatTable(
        ["attempt", "machine", "role", "status", "gpu", "billed", "$/h", "cost"],
        j.machines.map((m) => [
          m.attempt,
          m.instance_id,
          m.role,
          m.status,
          m.gpu_name === "pending" ? "pending" : m.gpu_name,
          duration(m.seconds),
          perHour(m.dph_total),
          m.seconds === null ? "—" : usd(m.cost_usd),
        ]),
      ),
    );
  }
  return lines.join("\n");
}

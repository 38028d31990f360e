import { formatFields, formatTable } from "../../output";

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
  instance_id: string | null;
  attempts: { attempt: number; instance_id: string | null; reason: string }[];
}

export const JOB_FINAL = ["completed", "failed", "cancelled", "timed_out"];

export function jobTable(jobs: JobLike[]): string {
  if (jobs.length === 0) return "No jobs. Start one with `dumont job create <name> --command=…`.";
  return formatTable(
    ["id", "name", "status", "gpu", "type", "attempt", "exit", "duration", "cost $"],
    jobs.map((j) => [
      j.id,
      j.name,
      j.status,
      j.gpu_type ?? "any",
      j.use_spot ? "spot" : "on-demand",
      j.attempt,
      j.exit_code,
      j.duration,
      j.total_cost.toFixed(4),
    ]),
  );
}

export function jobDetails(j: JobLike): string {
  return formatFields({
    id: j.id,
    name: j.name,
    status: j.status,
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
    cost: `$${j.total_cost.toFixed(4)}`,
  });
}

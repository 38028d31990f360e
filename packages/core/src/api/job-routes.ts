import { z } from "zod";
import { defineRoute } from "./route";
import { IdParams, Timestamp } from "./common-schemas";
import { JOB_MACHINE } from "../job/job-machine";
import { GpuNameInput, RegionFilter } from "./offer-filters";
import { WORKSPACE_ROOT, remotePathProblem } from "../trust/remote-path";

/**
 * Names the supervisor and the control plane set themselves, so a job's env cannot redirect them:
 * `DUMONT_*` (the supervisor's own state), `HF_TOKEN` (comes from `hf_token`, sealed), and the
 * shell's own knobs that would change how the supervisor's script runs.
 */
const RESERVED_ENV =
  /^(DUMONT_.*|HF_TOKEN|IFS|ENV|BASH_ENV|PS4|SHELLOPTS|BASHOPTS|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT)$/;
const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
  .refine((name) => !RESERVED_ENV.test(name), "is reserved (DUMONT_*, HF_TOKEN and the shell's own variables)");
const RemotePath = z
  .string()
  .superRefine((path, ctx) => {
    const problem = remotePathProblem(path);
    if (problem !== null) ctx.addIssue({ code: "custom", message: `a path under ${WORKSPACE_ROOT}: it ${problem}` });
  })
  .describe(`an absolute path under ${WORKSPACE_ROOT} on the machine, without . or .. segments`);

/**
 * Git's real transports only. Git also accepts `<helper>::<address>` (remote helpers such as
 * `fd::3` or `ext::<command>`) and `file://`; those run things or read files on the machine, and
 * `fd::3` hangs until the timeout, so they are refused here. Scp-like `user@host:path` is allowed.
 */
const GitUrl = z
  .string()
  .min(1)
  .max(2000)
  .refine(
    (url) =>
      !url.includes("::") &&
      !url.startsWith("-") &&
      (/^(https?|ssh|git):\/\/[^\s]+$/i.test(url) || /^[\w.-]+@[\w.-]+:[^\s:][^\s]*$/.test(url)),
    "a git URL over https, http, ssh, git, or scp-like user@host:path",
  );

/** The fields only one source reads. */
const SOURCE_FIELDS = {
  hf_repo: "huggingface",
  hf_revision: "huggingface",
  hf_token: "huggingface",
  git_url: "git",
  git_branch: "git",
} as const;

export const CreateJobBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    source: z.enum(["command", "huggingface", "git"]).default("command"),
    command: z.string().min(1).max(20_000),
    hf_repo: z
      .string()
      .regex(/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/, "owner/name")
      .optional(),
    hf_revision: z.string().min(1).max(100).optional(),
    hf_token: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe("stored encrypted; reaches the machine through a 0600 env file"),
    git_url: GitUrl.optional(),
    git_branch: z.string().min(1).max(200).optional(),
    setup_script: z.string().max(50_000).optional(),
    pip_packages: z.array(z.string().min(1).max(200)).max(100).default([]),
    gpu_type: GpuNameInput.optional(),
    num_gpus: z.number().int().min(1).max(8).default(1),
    use_spot: z.boolean().default(false),
    disk_size: z.number().int().min(10).max(10_000).default(50),
    timeout_minutes: z.number().min(0.1).max(1440).default(480).describe("may be fractional (0.5 = 30 s)"),
    image: z.string().min(1).max(300).default("pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime"),
    output_paths: z.array(RemotePath).max(20).default(["/workspace/output"]),
    env: z.record(EnvName, z.string().max(10_000)).default({}),
    max_price: z.number().positive().max(1000).default(2),
    region: RegionFilter.default("global"),
    checkpoint_path: RemotePath.optional().describe("synced while running; restored after a spot interruption"),
    max_retries: z.number().int().min(0).max(10).default(2),
    start_at: z.iso.datetime().optional().describe("schedule for later"),
  })
  .superRefine((body, ctx) => {
    if (body.source === "huggingface" && !body.hf_repo)
      ctx.addIssue({ code: "custom", path: ["hf_repo"], message: "required for source huggingface" });
    if (body.source === "git" && !body.git_url)
      ctx.addIssue({ code: "custom", path: ["git_url"], message: "required for source git" });
    // A field of another source would be ignored silently; refuse it so the mistake shows.
    for (const [field, source] of Object.entries(SOURCE_FIELDS)) {
      if (body[field as keyof typeof SOURCE_FIELDS] !== undefined && body.source !== source)
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `only for source ${source} (this job's source is ${body.source})`,
        });
    }
  });

export const JobMachine = z.object({
  attempt: z.number().int(),
  instance_id: z.string(),
  deployment_id: z.string().nullable(),
  role: z
    .enum(["winner", "loser", "racing"])
    .describe("winner: the attempt ran on it; loser: another candidate of its race; racing: not decided yet"),
  status: z.string(),
  gpu_name: z.string(),
  seconds: z.number().nullable().describe("billed: create call → confirmed destroy (or now); null = not rented yet"),
  dph_total: z.number().describe("$/h, compute + storage for its disk"),
  cost_usd: z.number(),
});

export const Job = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(JOB_MACHINE.statuses),
    source: z.enum(["command", "huggingface", "git"]),
    command: z.string(),
    gpu_type: z.string().nullable(),
    num_gpus: z.number().int(),
    use_spot: z.boolean(),
    attempt: z.number().int(),
    max_retries: z.number().int(),
    instance_id: z.string().nullable(),
    deployment_id: z.string().nullable(),
    ssh_host: z.string().nullable(),
    ssh_port: z.number().nullable(),
    exit_code: z.number().int().nullable(),
    error_message: z.string().nullable(),
    created_at: Timestamp,
    start_at: Timestamp.nullable(),
    started_at: Timestamp.nullable(),
    completed_at: Timestamp.nullable(),
    duration: z.string(),
    gpu_hours: z.number(),
    total_cost: z
      .number()
      .describe(
        "USD: every machine rented for the job (race losers included), from its create call to its confirmed destroy, each at its own dph_total (compute + storage for its disk); the sum of machines[].cost_usd",
      ),
    machines: z.array(JobMachine).describe("what each machine rented for the job cost, attempt by attempt"),
    simulated: z.boolean().describe("the job runs on the simulated local marketplace (no real GPUs, no money)"),
    price_per_hour: z.number().nullable().describe("$/h of the machine the current attempt runs on"),
    output_paths: z.array(z.string()),
    attempts: z.array(z.object({ attempt: z.number().int(), instance_id: z.string().nullable(), reason: z.string() })),
  })
  .meta({ id: "Job" });

export const jobRoutes = {
  createJob: defineRoute({
    method: "POST",
    path: "/api/v1/jobs",
    summary: "Run a command on a rented GPU, then destroy the machine",
    tag: "jobs",
    auth: true,
    successStatus: 201,
    body: CreateJobBody,
    response: Job,
  }),
  listJobs: defineRoute({
    method: "GET",
    path: "/api/v1/jobs",
    summary: "Your jobs, newest first",
    tag: "jobs",
    auth: true,
    successStatus: 200,
    query: z.object({
      status: z.enum(JOB_MACHINE.statuses).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
    response: z.object({ jobs: z.array(Job), total: z.number().int() }),
  }),
  getJob: defineRoute({
    method: "GET",
    path: "/api/v1/jobs/{id}",
    summary: "One job",
    tag: "jobs",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Job,
  }),
  cancelJob: defineRoute({
    method: "POST",
    path: "/api/v1/jobs/{id}/cancel",
    summary: "Cancel at any stage; the machine is destroyed",
    tag: "jobs",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: Job,
  }),
  jobLogs: defineRoute({
    method: "GET",
    path: "/api/v1/jobs/{id}/logs",
    summary: "The job's output so far (kept after the machine is gone)",
    tag: "jobs",
    auth: true,
    successStatus: 200,
    params: IdParams,
    query: z.object({
      tail: z.coerce.number().int().min(1).max(100_000).optional().describe("last N lines (within the last MiB)"),
      offset: z.coerce.number().int().min(0).optional().describe("bytes already read (for following)"),
    }),
    response: z.object({
      job_id: z.string(),
      logs: z.string(),
      next_offset: z.number().int().describe("read on from here"),
      size: z.number().int().describe("bytes the job has logged so far"),
      more: z.boolean().describe("more is already there past next_offset: ask again at once"),
      finished: z.boolean(),
    }),
  }),
  jobOutputs: defineRoute({
    method: "GET",
    path: "/api/v1/jobs/{id}/outputs",
    summary: "Files collected from output_paths before the machine was destroyed",
    tag: "jobs",
    auth: true,
    successStatus: 200,
    params: IdParams,
    response: z.object({
      files: z.array(z.object({ path: z.string(), size: z.number().int() })),
      count: z.number().int(),
    }),
  }),
} as const;

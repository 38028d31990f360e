import { shellQuote } from "@dumont/providers";

/** Where a job lives on its machine; the supervisor writes its state files here. */
export const JOB_DIR = "/workspace/.dumont/job";

export interface JobScriptInput {
  source: "command" | "huggingface" | "git";
  command: string;
  hfRepo?: string | undefined;
  hfRevision?: string | undefined;
  hfToken?: string | undefined;
  gitUrl?: string | undefined;
  gitBranch?: string | undefined;
  setupScript?: string | undefined;
  pipPackages: readonly string[];
  env: Readonly<Record<string, string>>;
  numGpus: number;
}

/** The setup steps a supervisor names in its phase file (`setup:<step>`), as a failure reason reads them. */
export const SETUP_STEPS = {
  clone: "cloning the repository",
  download: "downloading from the Hugging Face Hub",
  requirements: "pip install -r requirements.txt",
  pip: "installing the pip packages",
  script: "the setup script",
} as const;
export type SetupStep = keyof typeof SETUP_STEPS;

/** A file to write on the machine before the supervisor starts. */
export interface JobFile {
  name: string;
  content: string;
}

/**
 * The files a job needs on its machine. User strings never become shell syntax: the command and
 * the setup script travel as files run by `sh`; env values (and the Hugging Face token) sit in a
 * 0600 env file as single-quoted words; git URLs, branches, repo ids and pip packages are
 * single-quoted arguments. Nothing secret ever appears on a command line.
 */
export function buildJobFiles(input: JobScriptInput): JobFile[] {
  const env: Record<string, string> = { ...input.env };
  if (input.hfToken) env.HF_TOKEN = input.hfToken;
  env.CUDA_VISIBLE_DEVICES ??= Array.from({ length: input.numGpus }, (_, i) => String(i)).join(",");
  const envFile = Object.entries(env)
    .map(([key, value]) => `export ${key}=${shellQuote(value)}`)
    .join("\n");

  const fetch: string[] = [];
  // Each setup step names itself in the phase file first, so a failure says which step it was.
  const step = (name: SetupStep) => fetch.push(`echo setup:${name} > "$DUMONT_JOB/phase"`);
  let workdir = "/workspace";
  switch (input.source) {
    case "command":
      break;
    case "git": {
      const branch = input.gitBranch ? `--branch ${shellQuote(input.gitBranch)} ` : "";
      step("clone");
      fetch.push('echo "[dumont] cloning the repository"');
      // The API admits only these transports; git enforces it too (submodules included).
      fetch.push("export GIT_ALLOW_PROTOCOL=https:http:ssh:git");
      // Shallow first (fast on real hosts); servers without shallow support get a full clone.
      const url = shellQuote(input.gitUrl ?? "");
      fetch.push(
        `rm -rf /workspace/repo && (git clone --depth 1 ${branch}-- ${url} /workspace/repo || (rm -rf /workspace/repo && git clone ${branch}-- ${url} /workspace/repo))`,
      );
      step("requirements");
      fetch.push(
        "if [ -f /workspace/repo/requirements.txt ]; then pip install -r /workspace/repo/requirements.txt; fi",
      );
      workdir = "/workspace/repo";
      break;
    }
    case "huggingface":
      step("download");
      fetch.push('echo "[dumont] downloading from the Hugging Face Hub"');
      fetch.push(
        `python3 "$DUMONT_JOB/hf_download.py" ${shellQuote(input.hfRepo ?? "")} ${shellQuote(input.hfRevision ?? "main")} /workspace/model`,
      );
      step("requirements");
      fetch.push(
        "if [ -f /workspace/model/requirements.txt ]; then pip install -r /workspace/model/requirements.txt; fi",
      );
      workdir = "/workspace/model";
      break;
  }
  if (input.pipPackages.length > 0) {
    step("pip");
    fetch.push('echo "[dumont] installing pip packages"');
    fetch.push(`pip install -- ${input.pipPackages.map(shellQuote).join(" ")}`);
  }
  if (input.setupScript) {
    step("script");
    fetch.push('echo "[dumont] running the setup script"');
    fetch.push(`(cd ${shellQuote(workdir)} && sh "$DUMONT_JOB/setup.sh")`);
  }

  const run = [
    "#!/bin/sh",
    "# Written by Dumont: the job supervisor. Runs detached (setsid) so SSH drops do not kill it.",
    `DUMONT_JOB=${JOB_DIR}`,
    '. "$DUMONT_JOB/env"',
    "# The machine is disposable: let pip install into an image's system Python (PEP 668).",
    "export PIP_BREAK_SYSTEM_PACKAGES=1",
    'finish() { echo "$1" > "$DUMONT_JOB/exit_code.tmp" && mv "$DUMONT_JOB/exit_code.tmp" "$DUMONT_JOB/exit_code"; exit 0; }',
    'echo setup > "$DUMONT_JOB/phase"',
    "mkdir -p /workspace/output",
    "(",
    "  set -e",
    ...fetch.map((line) => `  ${line}`),
    ")",
    "rc=$?",
    'if [ "$rc" -ne 0 ]; then echo "[dumont] setup failed with exit code $rc"; finish "$rc"; fi',
    'echo run > "$DUMONT_JOB/phase"',
    'echo "[dumont] running the command"',
    `cd ${shellQuote(workdir)}`,
    'sh "$DUMONT_JOB/command.sh"',
    "rc=$?",
    'echo "[dumont] command exited with code $rc"',
    'finish "$rc"',
    "",
  ].join("\n");

  const files: JobFile[] = [
    { name: "env", content: envFile + "\n" },
    { name: "command.sh", content: input.command + "\n" },
    { name: "run.sh", content: run },
  ];
  if (input.setupScript) files.push({ name: "setup.sh", content: input.setupScript + "\n" });
  if (input.source === "huggingface") files.push({ name: "hf_download.py", content: HF_DOWNLOAD });
  return files;
}

/**
 * Starts the supervisor detached from the SSH session: its own session (setsid), stdin closed,
 * output to job.log, inside a subshell so this SSH command returns at once.
 */
export const START_SUPERVISOR = `cd /workspace; rm -f ${JOB_DIR}/exit_code ${JOB_DIR}/phase; (nohup setsid sh ${JOB_DIR}/run.sh > ${JOB_DIR}/job.log 2>&1 < /dev/null &); echo started`;

// Snapshot download with the Hub's HTTP layout: the revision's file list, then each file via
// /resolve/. HF_ENDPOINT (default huggingface.co) lets a mirror or a test server stand in.
const HF_DOWNLOAD = `import json, os, sys, urllib.parse, urllib.request
repo, revision, target = sys.argv[1], sys.argv[2], sys.argv[3]
endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
headers = {"User-Agent": "dumont-cloud"}
if os.environ.get("HF_TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["HF_TOKEN"]
def get(url):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
rev = urllib.parse.quote(revision, safe="")
info = json.load(get(f"{endpoint}/api/models/{repo}/revision/{rev}"))
files = [s["rfilename"] for s in info.get("siblings", [])]
os.makedirs(target, exist_ok=True)
for name in files:
    if name.startswith("/") or ".." in name.split("/"):
        raise SystemExit(f"refusing unsafe file name {name!r}")
    path = os.path.join(target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with get(f"{endpoint}/{repo}/resolve/{rev}/{urllib.parse.quote(name)}") as response, open(path, "wb") as out:
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
    print(f"[dumont] downloaded {name}", flush=True)
print(f"[dumont] {len(files)} file(s) from {repo}@{revision}", flush=True)
`;

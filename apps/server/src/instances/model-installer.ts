import { DumontError } from "@dumont/core";
import { sshExec, shellQuote } from "@dumont/providers";
import type { InstanceService } from "../instances/instance-service";
import type { SshKeyService } from "../account/ssh-key-service";

const OUTPUT_LIMIT = 20_000;
export const OLLAMA_INSTALL_URL = "https://ollama.com/install.sh";

/**
 * What each step of the remote script exits with when it fails. The script has no pipelines
 * (`sh` on many images has no `pipefail`), so every command's own exit status is seen.
 */
const STEP_FAILURES: Record<number, string> = {
  21: "could not download the Ollama installer",
  22: "the Ollama installer failed",
  23: "the Ollama installer finished but no ollama command is on the PATH",
  24: "ollama pull failed",
  25: "ollama list failed after the pull",
  26: "the model is not in ollama list after the pull",
};

/**
 * `dumont model install`: over SSH with the control key, installs Ollama when the machine lacks
 * it, makes sure `ollama serve` runs, and pulls the model. The model name is validated by the
 * API schema and shell-quoted here anyway. Any failing step fails the install, with the reason.
 */
export class ModelInstaller {
  constructor(
    private readonly instances: InstanceService,
    private readonly sshKeys: SshKeyService,
    private readonly installUrl: string = OLLAMA_INSTALL_URL,
  ) {}

  async install(userId: string, instanceId: string, model: string) {
    const row = await this.instances.get(userId, instanceId);
    if (row.status !== "running" || !row.ssh_host || !row.ssh_port) {
      throw new DumontError({
        code: "INVALID_TRANSITION",
        message: `instance ${instanceId} is ${row.status}; models install on running instances`,
        hint: row.status === "paused" ? `Resume it first: dumont instance resume ${instanceId}` : undefined,
      });
    }
    const key = await this.sshKeys.controlKey(userId);
    const endpoint = { host: row.ssh_host, port: row.ssh_port, user: "root" };
    const started = Date.now();
    const result = await sshExec({
      endpoint,
      privateKey: key.privateKey,
      command: `sh -c ${shellQuote(installScript(this.installUrl, model))}`,
      timeoutMs: 3_600_000,
    });
    const output = (result.stdout + result.stderr).slice(-OUTPUT_LIMIT);
    const success = result.exitCode === 0;
    return {
      success,
      model,
      ollama_installed_now: output.includes("ollama installed now"),
      error: success ? null : failureReason(result.exitCode, result.stderr || result.stdout),
      output,
      duration_seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  }
}

/** One command per line, each checked: a failure anywhere ends the script with its step's code. */
function installScript(installUrl: string, model: string): string {
  const url = shellQuote(installUrl);
  const name = shellQuote(model);
  return [
    "set -e",
    "if command -v ollama >/dev/null 2>&1; then",
    '  echo "ollama present"',
    "else",
    '  echo "installing ollama"',
    '  installer="$(mktemp)"',
    `  curl -fsSL -o "$installer" ${url} || exit 21`,
    '  sh "$installer" || exit 22',
    '  rm -f "$installer"',
    "  command -v ollama >/dev/null 2>&1 || exit 23",
    '  echo "ollama installed now"',
    "fi",
    "if ! pgrep -f 'ollama serve' >/dev/null 2>&1; then nohup ollama serve >/tmp/ollama.log 2>&1 & sleep 2; fi",
    `ollama pull ${name} || exit 24`,
    'listing="$(mktemp)"',
    'ollama list >"$listing" || exit 25',
    `grep -F ${shellQuote(model.split(":")[0] ?? model)} "$listing" >/dev/null || exit 26`,
    'rm -f "$listing"',
  ].join("\n");
}

/** The step that failed, and the machine's last words on it (untrusted text, shortened). */
function failureReason(exitCode: number | null, text: string): string {
  const step =
    (exitCode !== null && STEP_FAILURES[exitCode]) || `the install script exited with ${exitCode ?? "a signal"}`;
  const lastLine = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .pop();
  return lastLine ? `${step}: ${lastLine.slice(0, 300)}` : step;
}

import { DumontError } from "@dumont/core";
import { sshExec, shellQuote } from "@dumont/providers";
import type { InstanceService } from "../instances/instance-service";
import type { SshKeyService } from "../account/ssh-key-service";

const OUTPUT_LIMIT = 20_000;

/**
 * `dumont model install`: over SSH with the control key, installs Ollama when the machine lacks
 * it, makes sure `ollama serve` runs, and pulls the model. The model name is validated by the
 * API schema and shell-quoted here anyway.
 */
export class ModelInstaller {
  constructor(
    private readonly instances: InstanceService,
    private readonly sshKeys: SshKeyService,
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
    const script = [
      "set -e",
      'if command -v ollama >/dev/null 2>&1; then echo "ollama present"; else echo "installing ollama"; curl -fsSL https://ollama.com/install.sh | sh; echo "ollama installed now"; fi',
      "if ! pgrep -f 'ollama serve' >/dev/null 2>&1; then nohup ollama serve >/tmp/ollama.log 2>&1 & sleep 2; fi",
      `ollama pull ${shellQuote(model)}`,
      `ollama list | grep -F ${shellQuote(model.split(":")[0] ?? model)} >/dev/null`,
    ].join("\n");
    const result = await sshExec({
      endpoint,
      privateKey: key.privateKey,
      command: `sh -c ${shellQuote(script)}`,
      timeoutMs: 3_600_000,
    });
    const output = (result.stdout + result.stderr).slice(-OUTPUT_LIMIT);
    return {
      success: result.exitCode === 0,
      model,
      ollama_installed_now: output.includes("ollama installed now"),
      output,
      duration_seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  }
}

import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";
import { SIMULATED_BANNER } from "../../money";

export function registerModelInstall(model: Command, cli: CliRuntime): void {
  model
    .command("install")
    .description("install Ollama on a running instance (when missing) and pull a model")
    .argument("<instance_id>")
    .argument("<model>", "e.g. llama3.2:1b, qwen2.5:0.5b")
    .action(
      cli.action(async (instanceId: string, name: string) => {
        if (!cli.options.json)
          process.stderr.write(`Installing ${name} on ${instanceId} (Ollama is installed first if missing)…\n`);
        const result = await (
          await cli.client({ timeoutMs: 3_700_000 })
        ).call("installModel", {
          params: { id: instanceId },
          body: { model: name },
        });
        if (!result.success) {
          throw new CliError(
            `installing ${name} failed: ${result.error ?? "unknown reason"}\n${result.output.trim().split("\n").slice(-10).join("\n")}`,
            "Check the model name on ollama.com/library, and that the machine can reach ollama.com.",
          );
        }
        cli.print(result, () =>
          [
            result.output.trim(),
            "",
            `${name} is ready on ${instanceId} (${result.duration_seconds} s).`,
            ...(result.simulated ? [`[${SIMULATED_BANNER}]`] : []),
          ].join("\n"),
        );
      }),
    );
}

import { spawn } from "node:child_process";
import type { Command } from "commander";
import { CliError, type CliRuntime } from "../../cli-runtime";

export function registerInstanceSsh(instance: Command, cli: CliRuntime): void {
  instance
    .command("ssh")
    .description("open an SSH session with the system's ssh (uses your keys; add them with `dumont ssh-key add`)")
    .argument("<id>")
    .argument("[command...]", "run this instead of a shell (after --)")
    .action(
      cli.action(async (id: string, command: string[]) => {
        const found = await (await cli.client()).call("getInstance", { params: { id } });
        if (found.status !== "running" || !found.ssh_host || !found.ssh_port) {
          throw new CliError(
            `instance ${id} is ${found.status}, not running`,
            "Wait for it, or resume it with `dumont instance resume`.",
          );
        }
        const args = [
          "-p",
          String(found.ssh_port),
          "-o",
          "StrictHostKeyChecking=accept-new",
          `root@${found.ssh_host}`,
          ...command,
        ];
        const child = spawn("ssh", args, { stdio: "inherit" });
        const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
        process.exit(code);
      }),
    );
}

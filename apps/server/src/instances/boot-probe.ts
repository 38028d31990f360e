import { shellQuote, sshExec, type SshEndpoint } from "@dumont/providers";

/**
 * The one SSH command that says a machine is ready: it answers with our key, and it reports what
 * the wizard verifies (the GPUs `nvidia-smi -L` lists, the size of /workspace), so a race's
 * winner is checked in the same session that found it up. It exits 0 whatever the machine lacks:
 * SSH working is the probe's verdict; the facts are judged by whoever needs them.
 */
const SCRIPT = `nvidia-smi -L 2>/dev/null | grep -c '^GPU' ; df -Pk /workspace 2>/dev/null | awk 'NR==2 {print $2}' ; exit 0`;

export interface ProbeFacts {
  gpus: number;
  /** Null when /workspace could not be measured. */
  diskKb: number | null;
}

export async function probeMachine(endpoint: SshEndpoint, privateKey: string): Promise<ProbeFacts> {
  const result = await sshExec({
    endpoint,
    privateKey,
    command: `sh -c ${shellQuote(SCRIPT)}`,
    timeoutMs: 20_000,
  });
  if (result.exitCode !== 0) throw new Error(`probe exited ${result.exitCode}`);
  const [gpuLine, diskLine] = result.stdout.trim().split("\n");
  const gpus = Number(gpuLine ?? 0);
  const diskKb = Number(diskLine);
  return {
    gpus: Number.isFinite(gpus) ? gpus : 0,
    diskKb: diskLine !== undefined && Number.isFinite(diskKb) && diskKb > 0 ? diskKb : null,
  };
}

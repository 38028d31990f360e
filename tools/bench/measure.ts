import { spawnSync } from "node:child_process";

export interface Stats {
  median: number;
  p95: number;
  runs: number;
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), runs: sorted.length };
}

/**
 * Wall time of whole commands, in ms, over `runs` rounds after `warmup` unmeasured ones. The
 * commands run interleaved (a, b, c, a, b, c…) so background load hits them all alike.
 */
export function timeCommands(
  commands: string[][],
  options: { runs: number; warmup: number; env?: NodeJS.ProcessEnv },
): Stats[] {
  const samples = commands.map((): number[] => []);
  for (let i = 0; i < options.warmup + options.runs; i++) {
    commands.forEach((command, c) => {
      const [file, ...args] = command;
      if (!file) throw new Error("empty command");
      const start = process.hrtime.bigint();
      const result = spawnSync(file, args, { env: options.env ?? process.env, stdio: "ignore" });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (result.status !== 0) throw new Error(`${command.join(" ")} exited with ${result.status}`);
      if (i >= options.warmup) samples[c]?.push(ms);
    });
  }
  return samples.map(stats);
}

export function row(name: string, s: Stats, baseline?: Stats): string {
  const ratio = baseline ? `  ×${(s.median / baseline.median).toFixed(2)} of baseline` : "";
  return `${name.padEnd(36)} median ${s.median.toFixed(1).padStart(7)} ms  p95 ${s.p95.toFixed(1).padStart(7)} ms  (n=${s.runs})${ratio}`;
}

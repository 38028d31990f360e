import { sshExec } from "@dumont/providers";
import { stats } from "./measure";
import { StandbyBenchFixture } from "./standby-fixture";
// From source (tsx), as the API bench takes the server package: the sync the controller runs.
import { syncToStandby, type StandbyLink, type SyncResult } from "../../apps/server/src/transfer/standby-sync";
import { SecretBox } from "../../apps/server/src/security/secret-box";

/**
 * One incremental standby sync against bare rsync, on the SIMULATED market (a GPU sandbox of the
 * embedded market and a CPU standby of its emulated GCP project, both on this machine). The GPU's
 * workspace holds 1 GiB (1024 files of 1 MiB from /dev/urandom) and 3000 small files; the standby
 * is provisioned and its first full sync done by the controller (sync interval 1 h, so it does not
 * sync again). Each round changes 1 % (40 × 256 KiB rewritten inside big files, 100 small files
 * rewritten, 10 deleted, 10 added), then times, in alternating order:
 *   ours  syncToStandby (what the controller runs: a probe of /workspace over SSH, then rsync on
 *         the GPU to the standby's /workspace with the safe flags, the excludes and --stats);
 *   bare  `rsync -a --delete -e 'ssh -i key -p port -o UserKnownHostsFile=…'` to the standby's
 *         /bare, started on the GPU over SSH the same way (the baseline).
 * Both targets start each round from the same state (the same source, the same previous round).
 */

const ROUNDS = Number(process.env.BENCH_SYNC_ROUNDS ?? 3);
const BIG_FILES = 1024;
const SMALL_DIRS = 30;
const SMALL_PER_DIR = 100;
const RATIO_TARGET = 1.2;

/** The workspace: data/big/fNNNN.bin (1 MiB each), data/small/dNN/sNNN.txt (1–4 KiB each). */
const CREATE_WORKSPACE = [
  "set -e",
  "mkdir -p /workspace/data/big /workspace/data/small",
  "cd /workspace/data/big",
  `for i in $(seq -w 0 ${BIG_FILES - 1}); do head -c 1048576 /dev/urandom > f$i.bin; done`,
  "cd /workspace/data/small",
  `for d in $(seq -w 0 ${SMALL_DIRS - 1}); do mkdir -p d$d; for i in $(seq -w 0 ${SMALL_PER_DIR - 1}); do head -c $((1024 + (10#$i % 4) * 1024)) /dev/urandom > d$d/s$i.txt; done; done`,
  "du -sm /workspace | cut -f1; find /workspace -type f | wc -l",
].join("\n");

/** Round r's change set, about 10 MiB: spread over the big files, plus small files rewritten, deleted, added. */
function changeSet(round: number): string {
  const lines = ["set -e", "cd /workspace/data"];
  for (let k = 0; k < 40; k++) {
    const file = (round * 131 + k * 25) % BIG_FILES;
    const offsetKiB = ((round * 7 + k) % 3) * 256;
    lines.push(
      `dd if=/dev/urandom of=big/f${String(file).padStart(4, "0")}.bin bs=1024 seek=${offsetKiB} count=256 conv=notrunc status=none`,
    );
  }
  const small = (n: number) => {
    const dir = String(n % SMALL_DIRS).padStart(2, "0");
    const file = String(Math.floor(n / SMALL_DIRS) % SMALL_PER_DIR).padStart(2, "0");
    return `small/d${dir}/s${file}.txt`;
  };
  for (let k = 0; k < 100; k++) lines.push(`head -c 2048 /dev/urandom > ${small(round * 997 + k * 29)}`);
  // Deleted and added: rm -f since an earlier round may have taken the same file.
  for (let k = 0; k < 10; k++) lines.push(`rm -f ${small(round * 1543 + k * 301 + 7)}`);
  for (let k = 0; k < 10; k++) lines.push(`head -c 3000 /dev/urandom > small/d00/new-r${round}-${k}.txt`);
  return lines.join("\n");
}

/** What must match between /workspace and /bare on the standby: names, sizes, mtimes, contents. */
const listing = (dir: string) =>
  `cd ${dir} && find . -type f -printf '%P %s %T@\\n' | sort | sha256sum | cut -c1-16 && find . -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16`;

export async function benchSync(): Promise<void> {
  const started = Date.now();
  // Market time ×50 only shortens the boots; the copies themselves run in real time.
  const bench = await StandbyBenchFixture.start({ DUMONT_MARKET_TIME_SCALE: "0.02" }, "bench-sync");
  let instanceId: string | undefined;
  try {
    instanceId = await bench.rentGpu();
    const gpu = await bench.gpuEndpoint(instanceId);
    const made = (await bench.exec(gpu, CREATE_WORKSPACE, 30 * 60_000)).trim().split("\n");
    const firstSyncStarted = Date.now();
    const association = await bench.provisionStandby(instanceId, 3600);
    const firstSyncMs = Date.now() - firstSyncStarted;

    const context = bench.server.server.context;
    const row = await context.repos.standby.findOwned(bench.user.userId, association.id);
    if (!row?.vm_ssh_host || !row.vm_ssh_port || !row.vm_host_key) throw new Error("the standby has no address");
    const box = SecretBox.fromConfig({ secretKey: context.config.secretKey, home: context.config.home });
    const link: StandbyLink = {
      associationId: row.id,
      gpu,
      gpuPrivateKey: await bench.controlKey(),
      standby: { host: row.vm_ssh_host, port: row.vm_ssh_port, user: "root" },
      standbyHostKey: row.vm_host_key,
      syncPrivateKey: box.open(row.sync_key_private_sealed),
    };
    const excludes = JSON.parse(row.excludes) as string[];
    const standby = link.standby;
    // The key and pinned host key the controller installed on the GPU, used by both copies.
    const dir = `/root/.dumont/standby/${row.id}`;
    const bareCommand = `rsync -a --delete -e 'ssh -i ${dir}/key -p ${standby.port} -o UserKnownHostsFile=${dir}/known_hosts' /workspace/ root@${standby.host}:/bare/`;

    const ours = async (): Promise<{ ms: number; result: SyncResult }> => {
      const t = process.hrtime.bigint();
      const result = await syncToStandby(link, { excludes, standbyHasFiles: true, timeoutMs: 30 * 60_000 });
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, result };
    };
    const bare = async (): Promise<number> => {
      const t = process.hrtime.bigint();
      const result = await sshExec({
        endpoint: gpu,
        privateKey: link.gpuPrivateKey,
        command: bareCommand,
        timeoutMs: 30 * 60_000,
      });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (result.exitCode !== 0) throw new Error(`bare rsync exited ${result.exitCode}: ${result.stderr}`);
      return ms;
    };

    // /bare starts as /workspace does: the first full copy, untimed.
    const bareFirstMs = await bare();
    const standbyListing = async () => {
      const [a, b] = await Promise.all([
        bench.exec(standby, listing("/workspace"), 600_000),
        bench.exec(standby, listing("/bare"), 600_000),
      ]);
      return { same: a === b, ours: a.trim().replace("\n", "/"), bare: b.trim().replace("\n", "/") };
    };
    const before = await standbyListing();
    console.log(
      `sync: one incremental standby sync vs bare rsync, on the SIMULATED market (GPU sandbox → emulated GCP standby, same machine)`,
    );
    console.log(
      `  workspace ${made[0]} MiB in ${made[1]} files; first full sync (controller) ${(firstSyncMs / 1000).toFixed(1)} s ` +
        `(provisioning included), first bare copy ${(bareFirstMs / 1000).toFixed(1)} s; targets identical before: ${before.same ? "yes" : `NO (${before.ours} vs ${before.bare})`}`,
    );

    // Where a difference would come from: syncToStandby opens two SSH sessions to the GPU (the
    // /workspace probe, then the copy), bare rsync one. One session (`true`) is timed each round.
    const session = async (): Promise<number> => {
      const t = process.hrtime.bigint();
      await bench.exec(gpu, "true");
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const oursMs: number[] = [];
    const bareMs: number[] = [];
    const sessionMs: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await bench.exec(gpu, changeSet(round), 300_000);
      const oursFirst = round % 2 === 1;
      let mine: { ms: number; result: SyncResult } | undefined;
      let theirs = NaN;
      for (const which of oursFirst ? ["ours", "bare"] : ["bare", "ours"]) {
        if (which === "ours") mine = await ours();
        else theirs = await bare();
      }
      if (!mine) throw new Error("no sync ran");
      oursMs.push(mine.ms);
      bareMs.push(theirs);
      const oneSession = await session();
      sessionMs.push(oneSession);
      console.log(
        `  round ${round} (${oursFirst ? "ours first" : "bare first"}): ours ${mine.ms.toFixed(0)} ms ` +
          `(${mine.result.filesTransferred} files, ${(mine.result.bytesSent / 1048576).toFixed(1)} MiB sent), bare ${theirs.toFixed(0)} ms; one SSH session to the GPU ${oneSession.toFixed(0)} ms`,
      );
    }
    const after = await standbyListing();
    const ssh = stats(sessionMs);
    const o = stats(oursMs);
    const b = stats(bareMs);
    console.log(`  bare rsync -a --delete (baseline)   median ${b.median.toFixed(0)} ms  (n=${b.runs})`);
    console.log(`  syncToStandby                       median ${o.median.toFixed(0)} ms  (n=${o.runs})`);
    console.log(
      `  ours / bare: ×${(o.median / b.median).toFixed(2)} (target ≤ ×${RATIO_TARGET}) ${o.median / b.median <= RATIO_TARGET ? "met" : "MISSED"}` +
        `   /workspace and /bare identical after (names, sizes, mtimes, contents): ${after.same ? "yes" : `NO (${after.ours} vs ${after.bare})`}`,
    );
    console.log(
      `  ours − bare (medians) ${(o.median - b.median).toFixed(0)} ms; one SSH session to the GPU (\`true\`) median ${ssh.median.toFixed(0)} ms: ` +
        `both run one session (syncToStandby checks /workspace in the same session, then runs rsync with its exclude file)`,
    );
    await bench.json("DELETE", `/api/v1/instances/${instanceId}`);
    instanceId = undefined;
    await bench.waitStatus(association.id, "destroyed", 120_000);
    console.log(`  market: SIMULATED   bench time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    if (instanceId) await bench.json("DELETE", `/api/v1/instances/${instanceId}`).catch(() => undefined);
    await bench.close();
  }
}

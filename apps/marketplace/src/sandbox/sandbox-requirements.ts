import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { SYSTEM_PATH } from "./bubblewrap-argv";
import { NETWORK_HINT } from "./sandbox-network";

/** CAP_NET_ADMIN's bit in /proc/<pid>/status's capability masks. */
const CAP_NET_ADMIN = 12n;

/** What to do when a sandbox cannot be built; part of every such error. */
export const BUBBLEWRAP_HINT =
  "The local marketplace runs each machine under bubblewrap as root on Linux: run tools/system-deps.sh (or apt-get install bubblewrap); bubblewrap needs user namespaces, which some kernels restrict (sysctl kernel.unprivileged_userns_clone, or AppArmor's kernel.apparmor_restrict_unprivileged_userns on Ubuntu 24.04).";

/**
 * Checks, before the market serves anything, that machines can be sandboxed: root (each sandbox
 * gets its own unprivileged uid), bubblewrap, util-linux's nsenter and setpriv and perl (the
 * init, and the step that enters a sandbox), and iproute2's `ip` with CAP_NET_ADMIN (each
 * machine's own network). Throws with the fix; there is no weaker fallback (never a shared
 * network).
 */
export function assertSandboxRequirements(): void {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    throw new Error(
      "the local marketplace must run as root on Linux: each rented machine is a bubblewrap sandbox running as its own unprivileged uid, which only root can hand out",
    );
  }
  if (!findExecutable("bwrap", process.env.PATH ?? SYSTEM_PATH)) {
    throw new Error(
      "the local marketplace needs bubblewrap (bwrap) for its machines' sandboxes, and it is not installed: run tools/system-deps.sh (or apt-get install bubblewrap)",
    );
  }
  for (const tool of ["nsenter", "setpriv", "perl"]) {
    if (!findExecutable(tool, SYSTEM_PATH)) {
      throw new Error(
        `the local marketplace needs ${tool} (util-linux / perl-base) in ${SYSTEM_PATH} to enter its sandboxes, and it is missing`,
      );
    }
  }
  if (!findExecutable("ip", process.env.PATH ?? SYSTEM_PATH)) {
    throw new Error(
      `the local marketplace needs iproute2's ip for its machines' networks, and it is missing. ${NETWORK_HINT}`,
    );
  }
  if (!hasEffectiveCapability(CAP_NET_ADMIN)) {
    throw new Error(
      `the local marketplace cannot create network devices (its root has no CAP_NET_ADMIN), and every machine needs a network of its own. ${NETWORK_HINT}`,
    );
  }
}

function hasEffectiveCapability(bit: bigint): boolean {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return hex !== undefined && ((BigInt(`0x${hex}`) >> bit) & 1n) === 1n;
  } catch {
    return false;
  }
}

function findExecutable(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

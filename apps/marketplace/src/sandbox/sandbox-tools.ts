import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PIP_SHIM, PYTHON_SHIM, isPythonImage } from "./image-tools";

/** Where the simulator's per-instance tools live, as the sandbox sees it (inside its /root). */
export const SIM_DIR_IN_SANDBOX = "/root/.dumont-sim";
export const SIM_BIN_IN_SANDBOX = `${SIM_DIR_IN_SANDBOX}/bin`;

/** The sandbox's /etc/hosts, in the market's own directory for the instance (`sim/`). */
export const HOSTS_FILE = "hosts";
/** The sandbox's /etc/resolv.conf, beside it. */
export const RESOLV_CONF_FILE = "resolv.conf";

/** What `nvidia-smi` inside the sandbox reports. */
export interface GpuState {
  name: string;
  count: number;
  memoryTotalMb: number;
  memoryUsedMb: number;
  utilization: number;
  temperature: number;
  driverVersion: string;
  cudaVersion: number;
  /** Seeds the GPU UUIDs. */
  machineId: number;
}

/** Host paths of an instance's directories (`dir` = `<dataDir>/instances/<id>`). */
export function instancePaths(dir: string): {
  workspace: string;
  home: string;
  simDir: string;
  binDir: string;
  onstart: string;
} {
  // The tools live beside the home, not in it: the sandbox sees them read-only at
  // SIM_DIR_IN_SANDBOX, and the market, which writes them as root, never writes into a directory
  // the sandbox owns (where a planted symlink would redirect the write to any host file).
  const simDir = join(dir, "sim");
  return {
    workspace: join(dir, "workspace"),
    home: join(dir, "home"),
    simDir,
    binDir: join(simDir, "bin"),
    onstart: join(simDir, "onstart.sh"),
  };
}

/**
 * Writes the stand-in tools (read-only inside) and the GPU state; done at every boot. A PyTorch or
 * Python image also gets `python` and `pip` (see image-tools.ts); other images do not.
 */
export async function installSandboxTools(dir: string, gpu: GpuState, image: string): Promise<void> {
  const paths = instancePaths(dir);
  await mkdir(paths.binDir, { recursive: true });
  await mkdir(paths.workspace, { recursive: true });
  await mkdir(paths.home, { recursive: true });
  await writeExecutable(join(paths.binDir, "nvidia-smi"), NVIDIA_SMI);
  await writeExecutable(join(paths.binDir, "ollama"), OLLAMA);
  if (isPythonImage(image)) {
    await writeExecutable(join(paths.binDir, "python"), PYTHON_SHIM);
    await writeExecutable(join(paths.binDir, "pip"), PIP_SHIM);
  } else {
    await rm(join(paths.binDir, "python"), { force: true });
    await rm(join(paths.binDir, "pip"), { force: true });
  }
  await writeGpuState(dir, gpu);
}

/** Rewrites the state file atomically (a concurrent `nvidia-smi` never reads half a file). */
export async function writeGpuState(dir: string, gpu: GpuState): Promise<void> {
  const { simDir } = instancePaths(dir);
  await mkdir(simDir, { recursive: true });
  const lines = [
    `GPU_NAME=${shellQuote(gpu.name)}`,
    `GPU_COUNT=${Math.max(1, Math.floor(gpu.count))}`,
    `GPU_MEM_TOTAL=${Math.round(gpu.memoryTotalMb)}`,
    `GPU_MEM_USED=${Math.round(gpu.memoryUsedMb)}`,
    `GPU_UTIL=${Math.round(gpu.utilization)}`,
    `GPU_TEMP=${Math.round(gpu.temperature)}`,
    `GPU_DRIVER=${shellQuote(gpu.driverVersion)}`,
    `GPU_CUDA=${shellQuote(gpu.cudaVersion.toFixed(1))}`,
    `GPU_MACHINE=${gpu.machineId}`,
  ];
  const target = join(simDir, "gpu.state");
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, `${lines.join("\n")}\n`);
  await rename(temp, target);
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A stand-in `nvidia-smi`: plain table, `-L`, and `--query-gpu=… --format=csv[,noheader][,nounits]`
 * with one line per GPU. Numbers come from the state file the simulator writes (utilisation is
 * driven through `PUT /sim/instances/{id}/gpu`).
 */
const NVIDIA_SMI = `#!/bin/sh
# Simulated nvidia-smi of the local marketplace: reads the state the simulator writes.
STATE="${SIM_DIR_IN_SANDBOX}/gpu.state"
if [ ! -r "$STATE" ]; then
  echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2
  exit 9
fi
set -a
. "$STATE"
set +a
query=""
format=""
list=0
ids=""
while [ $# -gt 0 ]; do
  case "$1" in
    -L|--list-gpus) list=1 ;;
    --query-gpu=*) query="\${1#--query-gpu=}" ;;
    --query-gpu) shift; query="$1" ;;
    --format=*) format="\${1#--format=}" ;;
    --format) shift; format="$1" ;;
    -i|--id) shift; ids="$1" ;;
    --id=*) ids="\${1#--id=}" ;;
    -q|--query) ;;
    -h|--help) echo "NVIDIA System Management Interface -- v$GPU_DRIVER (simulated)"; exit 0 ;;
    --version) echo "NVIDIA-SMI version  : $GPU_DRIVER"; echo "DRIVER version     : $GPU_DRIVER"; echo "CUDA Version       : $GPU_CUDA"; exit 0 ;;
    *) ;;
  esac
  shift
done
uuid_of() {
  printf 'GPU-%08x-%04x-%04x-%04x-%012x' "$GPU_MACHINE" "$1" 4096 32768 "$(( GPU_MACHINE * 16 + $1 ))"
}
selected() {
  [ -z "$ids" ] && return 0
  case ",$ids," in *",$1,"*) return 0 ;; esac
  return 1
}
if [ "$list" = 1 ]; then
  i=0
  while [ "$i" -lt "$GPU_COUNT" ]; do
    if selected "$i"; then echo "GPU $i: $GPU_NAME (UUID: $(uuid_of "$i"))"; fi
    i=$((i + 1))
  done
  exit 0
fi
if [ -n "$query" ]; then
  header=1; units=1
  case ",$format," in *",noheader,"*) header=0 ;; esac
  case ",$format," in *",nounits,"*) units=0 ;; esac
  i=0
  while [ "$i" -lt "$GPU_COUNT" ]; do
    if selected "$i"; then
      UUID="$(uuid_of "$i")" IDX="$i" HEADER="$header" UNITS="$units" awk -v q="$query" '
        function field(name,   v) {
          if (name == "name" || name == "gpu_name") return ENVIRON["GPU_NAME"]
          if (name == "index") return ENVIRON["IDX"]
          if (name == "uuid" || name == "gpu_uuid") return ENVIRON["UUID"]
          if (name == "count") return ENVIRON["GPU_COUNT"]
          if (name == "driver_version") return ENVIRON["GPU_DRIVER"]
          if (name == "memory.total") return ENVIRON["GPU_MEM_TOTAL"] unit(" MiB")
          if (name == "memory.used") return ENVIRON["GPU_MEM_USED"] unit(" MiB")
          if (name == "memory.free") return (ENVIRON["GPU_MEM_TOTAL"] - ENVIRON["GPU_MEM_USED"]) unit(" MiB")
          if (name == "utilization.gpu") return ENVIRON["GPU_UTIL"] unit(" %")
          if (name == "utilization.memory") return int(100 * ENVIRON["GPU_MEM_USED"] / ENVIRON["GPU_MEM_TOTAL"]) unit(" %")
          if (name == "temperature.gpu") return ENVIRON["GPU_TEMP"]
          if (name == "power.draw") return sprintf("%.2f", 30 + 3 * ENVIRON["GPU_UTIL"]) unit(" W")
          if (name == "pci.bus_id") return sprintf("00000000:%02X:00.0", 1 + ENVIRON["IDX"])
          if (name == "compute_cap") return "unknown"
          return "[N/A]"
        }
        function unit(u) { return ENVIRON["UNITS"] == 1 ? u : "" }
        function head(name) {
          if (ENVIRON["UNITS"] != 1) return name
          if (name ~ /^memory\\./) return name " [MiB]"
          if (name ~ /^utilization\\./) return name " [%]"
          if (name == "power.draw") return name " [W]"
          return name
        }
        BEGIN {
          n = split(q, names, ",")
          if (ENVIRON["HEADER"] == 1) {
            line = ""
            for (k = 1; k <= n; k++) line = line (k > 1 ? ", " : "") head(names[k])
            print line
          }
          line = ""
          for (k = 1; k <= n; k++) line = line (k > 1 ? ", " : "") field(names[k])
          print line
        }' </dev/null
      header=0
    fi
    i=$((i + 1))
  done
  exit 0
fi
now="$(date '+%a %b %e %H:%M:%S %Y')"
echo "$now"
echo "+-----------------------------------------------------------------------------------------+"
printf '| NVIDIA-SMI %-15s Driver Version: %-15s CUDA Version: %-9s|\\n' "$GPU_DRIVER" "$GPU_DRIVER" "$GPU_CUDA"
echo "|-----------------------------------------+------------------------+----------------------+"
echo "| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |"
echo "| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |"
echo "|=========================================+========================+======================|"
i=0
while [ "$i" -lt "$GPU_COUNT" ]; do
  if selected "$i"; then
    printf '| %3d  %-28s  On | %16s Off | %20s |\\n' "$i" "$(printf '%s' "$GPU_NAME" | cut -c1-28)" "$(printf '00000000:%02X:00.0' $((i + 1)))" "Off"
    printf '| %3s  %3sC    P2   %10s | %9sMiB / %6sMiB | %7s%%      Default |\\n' "0%" "$GPU_TEMP" "$((30 + 3 * GPU_UTIL))W / 450W" "$GPU_MEM_USED" "$GPU_MEM_TOTAL" "$GPU_UTIL"
    echo "+-----------------------------------------+------------------------+----------------------+"
  fi
  i=$((i + 1))
done
echo ""
echo "+-----------------------------------------------------------------------------------------+"
echo "| Processes:                                                                              |"
echo "|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |"
echo "|=========================================================================================|"
echo "|  No running processes found                                                             |"
echo "+-----------------------------------------------------------------------------------------+"
`;

/**
 * A stand-in `ollama`: the simulator has no models to download, so `pull` prints Ollama's
 * progress lines and records the model; `list` shows what was pulled; `serve` sleeps. A model
 * whose name starts with `sim-unreachable` fails to download, as Ollama does when the registry
 * cannot be reached (exit 1, nothing recorded), so failed installs can be tested.
 */
const OLLAMA = `#!/bin/sh
# Simulated ollama of the local marketplace: records pulled models, downloads nothing.
VERSION="0.6.5"
MODELS_DIR="\${OLLAMA_MODELS:-$HOME/.ollama/models}"
LIST="$MODELS_DIR/.pulled"
digest_of() { printf '%s' "$1" | sha256sum | cut -c1-12; }
size_of() {
  case "$1" in
    *70b*|*72b*) echo "42 GB" ;;
    *32b*|*34b*) echo "19 GB" ;;
    *13b*|*14b*) echo "9.0 GB" ;;
    *1b*|*0.5b*|*mini*) echo "1.3 GB" ;;
    *) echo "4.7 GB" ;;
  esac
}
normalize() { case "$1" in *:*) echo "$1" ;; *) echo "$1:latest" ;; esac; }
cmd="$1"
[ $# -gt 0 ] && shift
case "$cmd" in
  -v|--version|version)
    echo "ollama version is $VERSION"
    ;;
  pull)
    [ -n "$1" ] || { echo "Error: requires at least 1 arg(s), only received 0" >&2; exit 1; }
    model="$(normalize "$1")"
    case "$model" in
      sim-unreachable*)
        echo "pulling manifest"
        echo "Error: pull model manifest: Get \\"https://registry.ollama.ai/v2/library/$model/manifests\\": dial tcp: lookup registry.ollama.ai: no such host" >&2
        exit 1
        ;;
    esac
    size="$(size_of "$model")"
    d="$(digest_of "$model")"
    echo "pulling manifest"
    sleep 0.1
    echo "pulling $d... 100% ▕████████████████▏ $size"
    echo "pulling $(digest_of "$model-template")... 100% ▕████████████████▏ 1.4 KB"
    echo "pulling $(digest_of "$model-params")... 100% ▕████████████████▏  96 B"
    echo "verifying sha256 digest"
    echo "writing manifest"
    mkdir -p "$MODELS_DIR"
    touch "$LIST"
    if ! grep -qx "$model" "$LIST"; then echo "$model" >> "$LIST"; fi
    echo "success"
    ;;
  list|ls)
    printf '%-30s %-14s %-8s %s\\n' "NAME" "ID" "SIZE" "MODIFIED"
    if [ -f "$LIST" ]; then
      while IFS= read -r model; do
        [ -n "$model" ] && printf '%-30s %-14s %-8s %s\\n' "$model" "$(digest_of "$model")" "$(size_of "$model")" "About a minute ago"
      done < "$LIST"
    fi
    ;;
  rm)
    model="$(normalize "$1")"
    if [ -f "$LIST" ] && grep -qx "$model" "$LIST"; then
      grep -vx "$model" "$LIST" > "$LIST.tmp" || true
      mv "$LIST.tmp" "$LIST"
      echo "deleted '$model'"
    else
      echo "Error: model '$model' not found" >&2; exit 1
    fi
    ;;
  run)
    model="$(normalize "$1")"
    if ! { [ -f "$LIST" ] && grep -qx "$model" "$LIST"; }; then
      echo "Error: model '$model' not found, try pulling it first" >&2; exit 1
    fi
    echo "This is a simulated reply from $model on the local marketplace."
    ;;
  serve)
    echo "time=$(date -u +%Y-%m-%dT%H:%M:%SZ) level=INFO msg=\\"Listening on 127.0.0.1:11434 (version $VERSION)\\""
    exec sleep 2147483647
    ;;
  ""|-h|--help|help)
    echo "Usage: ollama [command]"
    echo "Available Commands: serve pull list run rm --version"
    ;;
  *)
    echo "Error: unknown command \\"$cmd\\" for \\"ollama\\"" >&2
    exit 1
    ;;
esac
`;

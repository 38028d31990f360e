/**
 * What an image promises beyond the host's `/usr`. A machine here runs on the host's system
 * directories, whatever image was asked for; a Debian host has `python3` but no `python`, while
 * every PyTorch or Python image answers to `python` and `pip`. So for such images the market adds
 * `python` and `pip` to its stand-in tools (first on PATH, read-only inside), and only for them: an
 * `ubuntu` image has no `python` on Vast either.
 */

/** Words in an image's repository name that mean Python is the image's point. */
const PYTHON_IMAGE_WORDS = ["pytorch", "torch", "python", "tensorflow", "jax", "jupyter", "conda", "huggingface"];

/**
 * True for PyTorch and Python images: `pytorch/pytorch:…`, `python:3.11`,
 * `nvcr.io/nvidia/pytorch:…`, `continuumio/miniconda3`, `jupyter/…`, and Vast's own `vastai/…`
 * images (its base image ships a Python venv on PATH). The registry host and the tag are ignored.
 */
export function isPythonImage(image: string): boolean {
  const withoutDigest = image.split("@")[0] ?? image;
  const parts = withoutDigest.toLowerCase().split("/");
  const last = parts.at(-1) ?? "";
  parts[parts.length - 1] = last.split(":")[0] ?? last;
  // A first part with a dot or a port is a registry host, not a name.
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":"))) parts.shift();
  if (parts[0] === "vastai") return true;
  const name = parts.join("/");
  return PYTHON_IMAGE_WORDS.some((word) => name.includes(word));
}

/** The real program if the system has one, else `python3`. */
export const PYTHON_SHIM = `#!/bin/sh
# Local marketplace: this image has \`python\`; the machine's system may only have python3.
for candidate in /usr/local/bin/python /usr/bin/python; do
  [ -x "$candidate" ] && exec "$candidate" "$@"
done
if command -v python3 >/dev/null 2>&1; then exec python3 "$@"; fi
echo "python: python3 is not installed on the computer running the local marketplace" >&2
exit 127
`;

/** The real pip if the system has one, else `python3 -m pip`. */
export const PIP_SHIM = `#!/bin/sh
# Local marketplace: this image has \`pip\`; fall back to python3's own pip module.
for candidate in /usr/local/bin/pip /usr/bin/pip /usr/local/bin/pip3 /usr/bin/pip3; do
  [ -x "$candidate" ] && exec "$candidate" "$@"
done
exec python3 -m pip "$@"
`;

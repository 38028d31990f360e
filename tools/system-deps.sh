#!/usr/bin/env bash
# The system packages Dumont needs on the machine that runs the server or the tests. One list,
# used by `npm start`, `npm test` (through their pre-scripts) and `.ci/run`, so they cannot drift.
# As root it installs what is missing with apt-get; otherwise it stops with the exact line to run.
set -euo pipefail

# rsync + openssh-client: every transfer to and from a machine; openssh-sftp-server: the simulated
# market's SFTP; bubblewrap: the simulated market's sandbox; iproute2: each simulated machine's network.
PACKAGES=(rsync openssh-client openssh-sftp-server bubblewrap iproute2)

command -v dpkg >/dev/null 2>&1 || exit 0 # not Debian: the operator provides these themselves
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "dumont: missing system packages: ${missing[*]}" >&2
  echo "dumont: run:  sudo apt-get update && sudo $line" >&2
  exit 1
fi
echo "dumont: installing system packages: ${missing[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $line -qq >&2

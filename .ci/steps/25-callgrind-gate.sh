#!/usr/bin/env bash
# Instruction-count gate: counts each hot path's instructions under
# valgrind --tool=callgrind and fails when one is more than 10% above
# benchmarks/callgrind/baseline.txt, printing the table (path, baseline,
# now, ratio). Installs valgrind (Debian's) if missing. About 30 s on 2
# cores, plus the install. To accept a change in the counts:
# benchmarks/callgrind/gate.sh -update, and commit baseline.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v valgrind >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  echo "installing valgrind"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends valgrind
fi

timeout 600 benchmarks/callgrind/gate.sh

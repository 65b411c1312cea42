#!/usr/bin/env bash
# Servers the store tests need (access/redisstore, access/pgstore): installs
# Debian's redis-server and postgresql when they are missing, and gcc when
# cgo is off (-race needs it). .ci/run runs .ci/setup before any test, since
# its per-module `go test -race` runs the store modules with CI=true, where
# a missing server fails the test instead of skipping it. The tests start
# their own servers on free ports (redistest, pgtest); the packages' own
# services are kept from starting.
#
# Measured in a fresh Debian 12 chroot (mmdebstrap minbase) on the 2-core
# machine, loaded by other work: apt-get update + redis-server alone (a
# "go" machine already has PostgreSQL 15 and gcc) 6 s; redis-server and
# postgresql together on a bare Debian 105 s. The store modules' tests
# then took, with -race and a cold Go build cache, 362 s (sqlitestore:
# compiling modernc.org/sqlite for vet and again for -race is most of it),
# 133 s (redisstore) and 68 s (pgstore); with a warm cache 44, 27 and
# 38 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/setup/lib.sh

need=()
command -v redis-server >/dev/null || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || need+=(postgresql)
[ "$(go env CGO_ENABLED)" = 1 ] || need+=(gcc libc6-dev)
if [ "${#need[@]}" -gt 0 ]; then
  start=$(date +%s)
  echo "installing ${need[*]}"
  # policy-rc.d exiting 101 keeps the packages' services stopped.
  policy=/usr/sbin/policy-rc.d
  restore_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    restore_policy=1
  fi
  apt_install "${need[@]}"
  if [ -n "$restore_policy" ]; then $SUDO rm -f "$policy"; fi
  echo "installed ${need[*]} in $(( $(date +%s) - start )) s"
fi
redis-server --version
ls -d /usr/lib/postgresql/*/bin

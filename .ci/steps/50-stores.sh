#!/usr/bin/env bash
# Token stores (issue 11): the conformance suite, the multi-process tests
# and the crash/restart tests of access/sqlitestore, access/redisstore and
# access/pgstore, against a real redis-server and PostgreSQL, with -race.
# Installs Debian's redis-server and postgresql first when they are
# missing (a fresh "go" machine has PostgreSQL 15 but not Redis). With
# CI=true the store tests fail, rather than skip, when a server is absent.
#
# Measured in a fresh Debian 12 chroot (mmdebstrap minbase) on the 2-core
# machine, loaded by other work: apt-get update + redis-server alone (a
# "go" machine already has PostgreSQL 15 and gcc) 6 s; redis-server and
# postgresql together on a bare Debian 105 s. With a cold Go build cache
# the tests took 362 s (sqlitestore: compiling modernc.org/sqlite for vet
# and again for -race is most of it), 133 s (redisstore) and 68 s
# (pgstore): 10m45s for the whole step; with a warm cache about 2 min.
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

need=()
command -v redis-server >/dev/null || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || need+=(postgresql)
# -race needs cgo, so a C compiler (a "go" machine has gcc; a bare Debian
# does not).
[ "$(go env CGO_ENABLED)" = 1 ] || need+=(gcc libc6-dev)
if [ "${#need[@]}" -gt 0 ]; then
  start=$(date +%s)
  echo "installing ${need[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d 101: the packages' own services stay stopped (the tests
  # start their servers on free ports); restored after.
  policy=/usr/sbin/policy-rc.d
  restore_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    restore_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  if [ -n "$restore_policy" ]; then $SUDO rm -f "$policy"; fi
  echo "installed ${need[*]} in $(( $(date +%s) - start )) s"
fi
redis-server --version
ls -d /usr/lib/postgresql/*/bin

export CI=true
for m in access/sqlitestore access/redisstore access/pgstore; do
  echo "== $m: vet, tests with -race"
  start=$(date +%s)
  (cd "$m" && go vet ./... && timeout 900 go test -race -count=1 -timeout 12m ./...)
  echo "== $m: $(( $(date +%s) - start )) s"
done

echo "== store benchmarks, once each (a broken benchmark fails; numbers mean nothing here)"
for m in access/sqlitestore access/redisstore access/pgstore; do
  (cd "$m" && timeout 300 go test -run '^$' -bench . -benchtime=50x ./...)
done

#!/usr/bin/env bash
# Token stores (issue 11): the conformance suite, the multi-process tests
# and the crash/restart tests of access/sqlitestore, access/redisstore and
# access/pgstore, against a real redis-server and PostgreSQL, with -race.
# Installs Debian's redis-server and postgresql first when they are
# missing (a fresh "go" machine has PostgreSQL 15 but not Redis). With
# CI=true the store tests fail, rather than skip, when a server is absent.
#
# Measured (see the commit that added this step): installing redis-server
# on Debian 12 after apt-get update takes about 10-20 s; the tests of the
# three modules about 2-3 min on 2 cores.
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

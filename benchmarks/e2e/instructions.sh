#!/usr/bin/env bash
# Instructions per request end to end: each server of run.sh runs under
# valgrind --tool=callgrind while wrk sends it the same requests as in
# run.sh; the count is every instruction the server process executes in
# user space (net/http, the handler, the Go runtime; not the kernel)
# while wrk runs, divided by the requests wrk completed. Unlike req/s and
# CPU time, the count does not depend on what else runs on the machine:
# it repeats within 1-2%, where run.sh's numbers move by 20% or more on a
# shared machine. It leaves out what the kernel does per request (the same
# for every server: reading and writing one request on a socket), so its
# ratios to the no-verification server are larger than the CPU-time ones.
#
#   benchmarks/e2e/instructions.sh
#   SERVERS="none middleware" MODES=reused benchmarks/e2e/instructions.sh
#   BEFORE=main SERVERS="none middleware middleware@before" benchmarks/e2e/instructions.sh
#
# Each server runs with GOMAXPROCS=1 (as pinned to one core in run.sh),
# GODEBUG=asyncpreemptoff=1 (callgrind and Go's preemption signals
# disagree) and GOGC=off (when a collection runs under valgrind depends on
# time, which moves the count by several percent; allocations per request
# are in the Go benchmarks). wrk warms it for WARMUP, the counters are
# zeroed (callgrind_control --zero), wrk runs for DURATION, the counters
# are dumped. Under valgrind a server is 30-50x slower, so a run completes
# a few thousand requests.
#
# Servers as in run.sh (lib.sh), NAME@before included. About 25 s per
# server and token mode.
#
# Environment: DURATION (10s), WARMUP (5s), CONNS (16), SERVERS ("none
# middleware-nocors middleware golang-jwt posbackend"), MODES ("reused
# unique"), BEFORE (a git revision), GOGC (off), OUT (raw results; default
# a temp dir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
CONNS=${CONNS:-16}
SERVERS=${SERVERS:-none middleware-nocors middleware golang-jwt posbackend}
MODES=${MODES:-reused unique}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

need() {
  command -v "$1" >/dev/null && return 0
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  echo "installing $2" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$2"
}
need wrk wrk
need valgrind valgrind

. "$here/lib.sh"
e2e_build "$OUT"
e2e_secret

pid=""
trap e2e_stop EXIT

# start SERVER: starts it under callgrind, in OUT (posbackend keeps its
# SQLite store there); sets pid and url.
start() {
  local log=$OUT/server.out
  : >"$log"
  server_cmd "$OUT" "$1"
  rm -f "$OUT/callgrind.out"*
  (cd "$OUT" && E2E_SECRET=$secret GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 GOGC=${GOGC:-off} \
    exec valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "${cmd[@]}" \
    >"$log" 2>"$OUT/valgrind.log") &
  pid=$!
  e2e_await_url "$log" 600 && return 0
  echo "e2e: $1 did not start under valgrind:" >&2; cat "$log" "$OUT/valgrind.log" >&2; exit 1
}

raw=$OUT/instructions.txt
: >"$raw"
for mode in $MODES; do
  n=256
  [ "$mode" = unique ] && n=32768
  for server in $SERVERS; do
    start "$server"
    "$OUT/e2e" requests -n "$n" -out "$OUT/requests.tsv"
    export REQUESTS=$OUT/requests.tsv
    wrk -t1 -c"$CONNS" -d"$WARMUP" -s "$here/requests.lua" "$url/api/session" >/dev/null
    callgrind_control --zero "$pid" >/dev/null
    wrk -t1 -c"$CONNS" -d"$DURATION" -s "$here/requests.lua" "$url/api/session" >"$OUT/wrk.txt"
    callgrind_control --dump "$pid" >/dev/null
    e2e_stop
    if grep -q 'Non-2xx' "$OUT/wrk.txt"; then
      echo "e2e: $server ($mode tokens) answered errors:" >&2; cat "$OUT/wrk.txt" >&2; exit 1
    fi
    requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$OUT/wrk.txt")
    ir=$(sed -n 's/^summary: //p' "$OUT/callgrind.out.1")
    [ -n "$requests" ] && [ -n "$ir" ] || { echo "e2e: no count for $server" >&2; exit 1; }
    echo "$mode $server $requests $ir" | tee -a "$raw" >&2
  done
done

echo "# instructions per request in user space, server under callgrind (GOMAXPROCS=1, GOGC=${GOGC:-off}),"
echo "# wrk -t1 -c$CONNS -d$DURATION after $WARMUP; x none: over the no-verification server's"
echo "# $(go version | cut -d' ' -f3), $(valgrind --version)"
echo
awk '
  { per[$1, $2] = $4 / $3; n[$1, $2] = $3; order[++k] = $1 SUBSEP $2 }
  END {
    printf "| tokens | server | requests | instructions/request | x none |\n|---|---|---:|---:|---:|\n"
    for (i = 1; i <= k; i++) {
      split(order[i], f, SUBSEP)
      ratio = ((f[1], "none") in per) ? sprintf("%.2fx", per[order[i]] / per[f[1], "none"]) : "-"
      printf "| %s | %s | %d | %.0f | %s |\n", f[1], f[2], n[order[i]], per[order[i]], ratio
    }
  }' "$raw"

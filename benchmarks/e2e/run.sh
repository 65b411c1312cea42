#!/usr/bin/env bash
# End-to-end benchmark: wrk on 127.0.0.1 against servers answering
# GET /api/session, with reused tokens (256, all cached after the first
# requests) and unique ones (32,768 cycled: more than 3x the default cache
# of 10,000, so every request misses). Prints req/s, p50 and p99 latency
# per server, and req/s relative to the no-verification server of the same
# round and token mode; and the server's CPU use during the run (in % of
# one core: below ~95%, something else limited it, on a shared machine
# usually other processes) with its CPU time per request, which other
# processes inflate much less than req/s, and its ratio to the
# no-verification server's. For a count that does not depend on the
# machine's load at all, see instructions.sh.
#
#   benchmarks/e2e/run.sh
#   ROUNDS=1 DURATION=5s benchmarks/e2e/run.sh   # quicker
#   BEFORE=main SERVERS="none middleware middleware@before" benchmarks/e2e/run.sh
#
# Servers (see main.go and lib.sh): none (verifies nothing), middleware
# (net/http + sdk.Middleware with Shopify's extension origins allowed),
# middleware-nocors (the same without CORS, which none does not send
# either), golang-jwt (the same checks with golang-jwt v5), and posbackend
# (examples/posbackend as shipped: at its default log level it writes no
# line per request, and with no OTEL_* variables set it runs without
# otelhttp; its log goes to a file here; given the secret with
# -secret-env); with BEFORE=<git revision>, NAME@before is server NAME
# built from that revision. Each run starts a fresh server pinned to
# SERVER_CPU (taskset), warms it for WARMUP, then runs wrk pinned to
# LOAD_CPU: one thread, CONNS connections, for DURATION. Rounds interleave
# the servers, so that noise from other processes hits them alike; the
# table shows medians over rounds. A run with any non-2xx response fails
# the script.
#
# Environment: ROUNDS (3), DURATION (10s), WARMUP (2s), CONNS (16),
# SERVER_CPU (0), LOAD_CPU (1), SERVERS ("none middleware-nocors
# middleware golang-jwt posbackend"), MODES ("reused unique"), BEFORE (a
# git revision), OUT (raw results; default a temp dir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SERVERS=${SERVERS:-none middleware-nocors middleware golang-jwt posbackend}
MODES=${MODES:-reused unique}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  echo "installing wrk" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk
fi

. "$here/lib.sh"
e2e_build "$OUT"
e2e_secret

# cputicks PID: the process's user + system CPU time, in clock ticks.
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

pid=""
trap e2e_stop EXIT

# start SERVER: starts it pinned to SERVER_CPU, in OUT (posbackend keeps
# its SQLite store there); sets pid and url. Its stderr (posbackend's log)
# goes to server.err.
start() {
  local log=$OUT/server.out
  : >"$log"
  server_cmd "$OUT" "$1"
  (cd "$OUT" && E2E_SECRET=$secret exec taskset -c "$SERVER_CPU" "${cmd[@]}" >"$log" 2>"$OUT/server.err") &
  pid=$!
  e2e_await_url "$log" 100 && return 0
  echo "e2e: $1 did not start:" >&2; cat "$log" "$OUT/server.err" >&2; exit 1
}

raw=$OUT/raw.txt
: >"$raw"
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    for server in $SERVERS; do
      n=256
      [ "$mode" = unique ] && n=32768
      start "$server"
      "$OUT/e2e" requests -n "$n" -out "$OUT/requests.tsv"
      export REQUESTS=$OUT/requests.tsv
      taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" -s "$here/requests.lua" "$url/api/session" >/dev/null
      cpu0=$(cputicks "$pid"); t0=$(date +%s%N)
      taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$here/requests.lua" "$url/api/session" >"$OUT/wrk.txt"
      cpu1=$(cputicks "$pid"); t1=$(date +%s%N)
      # The server's CPU use during the run, in % of one core: below ~95,
      # something else (the load generator, other processes) limited it.
      secs=$(awk -v c="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print c / hz }')
      busy=$(awk -v c="$secs" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f", 100 * c / (ns / 1e9) }')
      e2e_stop
      : >"$OUT/server.err"
      if grep -q 'Non-2xx' "$OUT/wrk.txt"; then
        echo "e2e: $server ($mode tokens) answered errors:" >&2; cat "$OUT/wrk.txt" >&2; exit 1
      fi
      # req/s, p50 and p99 in microseconds.
      awk -v s="$server" -v m="$mode" -v r="$round" '
        function us(v) {
          if (v ~ /us$/) return v + 0
          if (v ~ /ms$/) return v * 1000
          if (v ~ /s$/) return v * 1000000
          return v
        }
        $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
        $1 == "Requests/sec:" { rps = $2 }
        $2 == "requests" && $3 == "in" { n = $1 }
        END { printf "%s %s %s %.0f %.0f %.0f %s %.1f\n", r, m, s, rps, p50, p99, busy, n ? secs * 1e6 / n : 0 }' busy="$busy" secs="$secs" "$OUT/wrk.txt" | tee -a "$raw" >&2
    done
  done
done

echo "# wrk -t1 -c$CONNS -d$DURATION (after $WARMUP warm-up), server on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU;"
echo "# medians of $ROUNDS rounds; x none: req/s (then CPU/req) over the no-verification server's, per round, then the median; (rounds): lowest-highest of the per-round ratios"
echo "# $(go version | cut -d' ' -f3), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo
awk -v servers="$SERVERS" -v modes="$MODES" '
  function median(key, c,   i, j, t, a) {
    for (i = 1; i <= c; i++) a[i] = vals[key, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
  }
  function add(key, v) { vals[key, ++cnt[key]] = v }
  function spread(key, c,   i, lo, hi) {
    lo = hi = vals[key, 1]
    for (i = 2; i <= c; i++) { if (vals[key, i] < lo) lo = vals[key, i]; if (vals[key, i] > hi) hi = vals[key, i] }
    return sprintf("%.2f-%.2f", lo, hi)
  }
  { rps[$1, $2, $3] = $4; add($2 SUBSEP $3 SUBSEP "rps", $4); add($2 SUBSEP $3 SUBSEP "p50", $5); add($2 SUBSEP $3 SUBSEP "p99", $6); add($2 SUBSEP $3 SUBSEP "cpu", $7); add($2 SUBSEP $3 SUBSEP "cpr", $8); cpr[$1, $2, $3] = $8; rounds[$1] = 1 }
  END {
    ns = split(servers, S, " "); nm = split(modes, M, " ")
    for (r in rounds) for (m = 1; m <= nm; m++) for (s = 1; s <= ns; s++)
      if ((r, M[m], "none") in rps && (r, M[m], S[s]) in rps) {
        add(M[m] SUBSEP S[s] SUBSEP "ratio", rps[r, M[m], S[s]] / rps[r, M[m], "none"])
        if (cpr[r, M[m], "none"] > 0) add(M[m] SUBSEP S[s] SUBSEP "cratio", cpr[r, M[m], S[s]] / cpr[r, M[m], "none"])
      }
    printf "| tokens | server | req/s | p50 | p99 | x none | (rounds) | server CPU | CPU/req | x none | (rounds) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    for (m = 1; m <= nm; m++) for (s = 1; s <= ns; s++) {
      k = M[m] SUBSEP S[s]
      if (!cnt[k SUBSEP "rps"]) continue
      ratio = cnt[k SUBSEP "ratio"] ? sprintf("%.2fx", median(k SUBSEP "ratio", cnt[k SUBSEP "ratio"])) : "-"
      cratio = cnt[k SUBSEP "cratio"] ? sprintf("%.2fx", median(k SUBSEP "cratio", cnt[k SUBSEP "cratio"])) : "-"
      rs = cnt[k SUBSEP "ratio"] ? spread(k SUBSEP "ratio", cnt[k SUBSEP "ratio"]) : "-"
      cs = cnt[k SUBSEP "cratio"] ? spread(k SUBSEP "cratio", cnt[k SUBSEP "cratio"]) : "-"
      printf "| %s | %s | %.0f | %.0f us | %.0f us | %s | %s | %.0f%% | %.1f us | %s | %s |\n", M[m], S[s], median(k SUBSEP "rps", cnt[k SUBSEP "rps"]),
        median(k SUBSEP "p50", cnt[k SUBSEP "p50"]), median(k SUBSEP "p99", cnt[k SUBSEP "p99"]), ratio, rs,
        median(k SUBSEP "cpu", cnt[k SUBSEP "cpu"]), median(k SUBSEP "cpr", cnt[k SUBSEP "cpr"]), cratio, cs
    }
  }' "$raw"
awk '$7 < 90 { n++ } END { if (n) printf "\nWARNING: in %d of %d runs the server used less than 90%% of its core: other processes held it, so req/s and latency measure them more than the server; compare CPU/req, and run again on a quiet machine.\n", n, NR }' "$raw"
echo
echo "raw results (round mode server req/s p50us p99us server-cpu% cpu-us/req): $raw" >&2

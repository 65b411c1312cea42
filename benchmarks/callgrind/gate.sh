#!/usr/bin/env bash
# The instruction-count gate: counts the instructions of each hot path
# (./callgrind -list) under valgrind --tool=callgrind and fails when a
# gated path is more than 10% above its line in baseline.txt.
#
#   benchmarks/callgrind/gate.sh           # check, print the table
#   benchmarks/callgrind/gate.sh -update   # measure and rewrite baseline.txt
#
# Each path runs in a fresh process (three times, and the median counts,
# when the first count is off; see below): WARM uncounted iterations, then
# N counted ones. Callgrind counts only inside the counted loop
# (--toggle-collect=main.loop), so start-up, input generation and what the
# first iterations do once (pools, lazy set-up) stay out, and the count per
# iteration is Ir / N. Counts repeat within 0.5% (1-2% for the smallest
# paths: verify-hit and access-offline, whose cache hash seeds are random
# per process, and verify-malformed) thanks to GOMAXPROCS=1,
# GODEBUG=asyncpreemptoff=1 (callgrind and Go's signal-based preemption
# disagree), GOGC=off (a collection's instructions depend on when it runs,
# which depends on time: with GC on, counts moved by up to 3.4%), and two
# runtime functions left uncounted: runtime.typeAssert and
# runtime.interfaceSwitch, the slow paths of type assertions and switches
# on interfaces, which fill each call site's cache at random moments (1
# call in 1,024); once filled, the cached checks run in the caller, which
# is counted. So the counts include allocation (malloc) but not collection:
# allocations per iteration are gated separately (more than 0.5 above the
# baseline fails).
#
# The reference path (hmac-floor: HMAC-SHA256 over the same signing
# inputs) is not gated; if it moved by more than 5%, the toolchain,
# valgrind or CPU features differ from the baseline's (SHA-256 runs its
# AVX2 code under valgrind, which hides SHA-NI) and counts are not
# comparable: the gate fails and says so. Rebaseline then.
#
# Environment: N (counted iterations, a multiple of 256; default 4096),
# WARM (default 1024), JOBS (parallel valgrind runs, default 2), THRESHOLD
# (default 1.10), GATE_INJECT_BYTES (passed to the driver: see main.go).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
update=0
case "${1:-}" in
-update) update=1 ;;
"") ;;
*) echo "usage: $0 [-update]" >&2; exit 2 ;;
esac
N=${N:-4096}
WARM=${WARM:-1024}
JOBS=${JOBS:-2}
THRESHOLD=${THRESHOLD:-1.10}
baseline=$here/baseline.txt
command -v valgrind >/dev/null || { echo "gate: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/driver" .

# count PATH RUN: prints "PATH instructions/iter allocs/iter".
count() {
  local p=$1 log=$work/$1.$2.log ir
  if ! GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=main.loop \
    --toggle-collect=runtime.typeAssert --toggle-collect=runtime.interfaceSwitch \
    "$work/driver" -path "$p" -warm "$WARM" -n "$N" >"$log" 2>&1; then
    echo "gate: $p failed:" >&2; cat "$log" >&2; return 1
  fi
  [ "$2" = 1 ] && { grep 'INJECTED' "$log" >&2 || true; }
  ir=$(sed -n 's/.*Collected : //p' "$log")
  echo "$p $((ir / N)) $(sed -n 's/.* \([0-9.]*\) allocs\/iter/\1/p' "$log")"
}
export -f count
export work N WARM
# counts LINES: runs "PATH RUN" lines, JOBS at a time, appending to raw.
counts() {
  if ! xargs -P "$JOBS" -n 2 bash -c 'count "$0" "$1"' >>"$work/raw"; then
    echo "gate: FAILED: a driver failed (above): a path that does not work is not measured"
    exit 1
  fi
}
start=$(date +%s)
"$work/driver" -list >"$work/list"
: >"$work/raw"
cut -f1 "$work/list" | awk '{ print $1, 1 }' | counts
# A rare run miscounts (probably callgrind losing track of a toggle across one of
# Go's stack switches, seen once in about 100 runs, 16% low): a path more
# than 3% away from its baseline, or without one, runs twice more and its
# median counts; with -update every path does.
again=$(awk -v update="$update" '
  NR == FNR { if ($0 !~ /^#/) base[$1] = $3; next }
  update || !($1 in base) || $2 > 1.03 * base[$1] || $2 < 0.97 * base[$1] { print $1 }
' "$( [ -f "$baseline" ] && echo "$baseline" || echo /dev/null)" "$work/raw")
if [ -n "$again" ]; then
  echo "# counting again: $(echo $again)"
  for p in $again; do echo "$p 2"; echo "$p 3"; done | counts
fi
echo "# callgrind: $(wc -l <"$work/raw") runs of $(wc -l <"$work/list") paths in $(($(date +%s) - start)) s (N=$N, WARM=$WARM, JOBS=$JOBS)"

# Medians per path, in -list order, with the kind.
sort -k1,1 -k2,2n "$work/raw" | awk '
  { v[$1, ++n[$1]] = $2; if (!($1 in a)) a[$1] = $3 }
  END { for (p in n) print p, v[p, int((n[p] + 1) / 2)], a[p] }
' >"$work/medians"
awk 'NR == FNR { c[$1] = $2; a[$1] = $3; next } { print $1, $2, c[$1], a[$1] }' "$work/medians" "$work/list" >"$work/now"

env="$(go version | cut -d' ' -f3-) $(valgrind --version)"
if [ "$update" = 1 ]; then
  {
    echo "# Instructions per iteration of each hot path (callgrind Ir inside main.loop; GOGC=off, GOMAXPROCS=1)"
    echo "# and heap allocations per iteration. Written by benchmarks/callgrind/gate.sh -update."
    echo "# env: $env"
    echo "# path kind instructions allocs"
    cat "$work/now"
  } >"$baseline"
  echo "gate: wrote $baseline"
  cat "$baseline"
  exit 0
fi

[ -f "$baseline" ] || { echo "gate: no $baseline: run $0 -update" >&2; exit 1; }
echo "# baseline env: $(sed -n 's/^# env: //p' "$baseline")"
echo "# this env:     $env"
awk -v thr="$THRESHOLD" '
  NR == FNR { if ($0 !~ /^#/) { base[$1] = $3; balloc[$1] = $4 }; next }
  {
    p = $1; kind = $2; now = $3; alloc = $4
    if (kind == "reference") floor = now
    if (!(p in base)) {
      line[++n] = sprintf("%-18s %12s %12d %7s %7.2f  FAIL: no baseline line (run gate.sh -update)", p, "-", now, "-", alloc)
      bad = 1; next
    }
    r = now / base[p]; verdict = "ok"
    if (kind == "reference") {
      verdict = "reference"
      if (r > 1.05 || r < 0.95) { verdict = "ENVIRONMENT DIFFERS from the baseline'"'"'s: rebaseline"; bad = 1 }
    } else if (r > thr) { verdict = sprintf("FAIL: more than %.0f%% above the baseline", (thr - 1) * 100); bad = 1 }
    else if (alloc > balloc[p] + 0.5) { verdict = "FAIL: more allocations"; bad = 1 }
    else if (r < 0.9) verdict = "ok, faster: update the baseline to keep the gain"
    line[++n] = sprintf("%-18s %12d %12d %7.3f %7.2f  %s", p, base[p], now, r, alloc, verdict)
    if (kind != "reference") cost[n] = now
  }
  END {
    printf "%-18s %12s %12s %7s %7s  %s\n", "path", "baseline", "now", "ratio", "allocs", "verdict"
    for (i = 1; i <= n; i++) printf "%s%s\n", line[i], (floor && i in cost) ? sprintf(" (%.2fx floor)", cost[i] / floor) : ""
    if (bad) { print "gate: FAILED"; exit 1 }
    print "gate: ok"
  }
' "$baseline" "$work/now"

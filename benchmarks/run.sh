#!/usr/bin/env bash
# Runs the comparison suite and prints a benchstat table, then ratios of
# medians measured in this same run.
#
#   benchmarks/run.sh                 # the full suite, 10 samples each
#   COUNT=6 BENCHTIME=200ms benchmarks/run.sh
#
# Environment:
#   COUNT       samples per benchmark (default 10)
#   BENCHTIME   -benchtime per sample (default 500ms)
#   INTERLEAVE  1 (default): COUNT rounds of -count 1, so that noise from
#               other processes on a shared machine hits every benchmark
#               alike and ratios stay fair; 0: one go test -count COUNT.
#   OUT         directory for the raw results (default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"

COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-500ms}
INTERLEAVE=${INTERLEAVE:-1}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest

go test -c -o "$OUT/benchmarks.test" ./benchmarks
cd benchmarks # the test binary runs in its package directory

# Every peer must prove its checks before its numbers count.
"$OUT/benchmarks.test" -test.run 'Test' -test.count 1

# Sequential scenarios at the default GOMAXPROCS; the parallel ones at 1
# and 2 Ps.
SEQ='^Benchmark(Uncached|UncachedNewShops|Cached|InvalidSignature|Expired|RealisticMix)$'
PAR='^BenchmarkParallel$'
raw="$OUT/raw.txt"
: >"$raw"
run() { # count
  "$OUT/benchmarks.test" -test.run '^$' -test.bench "$SEQ" -test.benchtime "$BENCHTIME" -test.count "$1" >>"$raw"
  "$OUT/benchmarks.test" -test.run '^$' -test.bench "$PAR" -test.benchtime "$BENCHTIME" -test.count "$1" -test.cpu 1,2 >>"$raw"
}
if [ "$INTERLEAVE" = 1 ]; then
  for i in $(seq "$COUNT"); do
    echo "round $i/$COUNT" >&2
    run 1
  done
else
  run "$COUNT"
fi

echo "# go test -bench, $COUNT samples, -benchtime $BENCHTIME, interleave=$INTERLEAVE ($(go version | cut -d' ' -f3), $(nproc) CPUs)"
benchstat "$raw"

# summary METRIC: medians of METRIC (ns/op: wall time; cpu-ns/op: the
# benchmark thread's CPU time, see cputime_test.go) per benchmark, and
# ratios of them: to the HMAC floor over the same tokens, and each
# library's over possession's.
summary() {
grep '^Benchmark' "$raw" | awk -v metric="$1" '{for (i = 2; i < NF; i++) if ($(i+1) == metric) print $1, $i}' |
  sort -k1,1 -k2,2g | awk -v procs="$(nproc)" -v metric="$1" '
  { v[$1, ++n[$1]] = $2 }
  function t(ns) { return ns >= 1000 ? sprintf("%.2f us", ns / 1000) : sprintf("%.0f ns", ns) }
  function peers(scen, base,   l, out) {
    out = ""
    for (l = 1; l <= 3; l++) out = out sprintf("  %s %.1fx", lib[l], m["Benchmark" scen "/lib=" lib[l] suf] / base)
    return out
  }
  END {
    for (k in n) { c = n[k]; m[k] = (c % 2) ? v[k, (c+1)/2] : (v[k, c/2] + v[k, c/2+1]) / 2 }
    suf = procs > 1 ? "-" procs : ""
    split("golang-jwt jwx go-jose", lib, " ")
    floor = m["BenchmarkUncached/lib=hmac-floor" suf]
    off = m["BenchmarkUncached/lib=possession-nocache" suf]
    miss = m["BenchmarkUncached/lib=possession-miss" suf]
    hot = m["BenchmarkCached/lib=hmac-floor" suf]
    hit = m["BenchmarkCached/lib=possession" suf]
    forged = m["BenchmarkInvalidSignature/lib=possession" suf]
    expired = m["BenchmarkExpired/lib=possession" suf]
    mix = m["BenchmarkRealisticMix/lib=possession" suf]
    printf "\n# %s: medians and their ratios from this run (possession vs the HMAC floor; the other libraries over possession)\n", metric
    printf "HMAC floor, 32,768 distinct tokens     %9s\n", t(floor)
    printf "uncached, cache off                    %9s  %5.2fx floor %s\n", t(off), off / floor, peers("Uncached", off)
    printf "uncached, cache on (every lookup miss) %9s  %5.2fx floor\n", t(miss), miss / floor
    nfloor = m["BenchmarkUncachedNewShops/lib=hmac-floor" suf]
    noff = m["BenchmarkUncachedNewShops/lib=possession-nocache" suf]
    if (nfloor > 0) {
      printf "HMAC floor, 32,768 tokens of as many shops %5s\n", t(nfloor)
      printf "uncached, cache off, a shop per token  %9s  %5.2fx floor   golang-jwt %.1fx\n", t(noff), noff / nfloor, m["BenchmarkUncachedNewShops/lib=golang-jwt" suf] / noff
    }
    printf "HMAC floor, hot set of 1,024           %9s\n", t(hot)
    printf "cache hit (a copy of a cached token)   %9s  %5.3fx floor (hot set)\n", t(hit), hit / hot
    hs = cs = 0
    if (m["BenchmarkParallel/scenario=cached/lib=possession" suf] > 0) {
      hs = m["BenchmarkParallel/scenario=cached/lib=hmac-floor"] / m["BenchmarkParallel/scenario=cached/lib=hmac-floor" suf]
      cs = m["BenchmarkParallel/scenario=cached/lib=possession"] / m["BenchmarkParallel/scenario=cached/lib=possession" suf]
    }
    if (procs > 1 && cs > 0) printf "cache hit throughput -cpu %d / -cpu 1   %8.2fx  (HMAC: %.2fx)\n", procs, cs, hs
    printf "forged (another secret)                %9s  %5.2fx uncached valid %s\n", t(forged), forged / off, peers("InvalidSignature", forged)
    printf "expired                                %9s  %5.2fx uncached valid %s\n", t(expired), expired / off, peers("Expired", expired)
    printf "Zipf mix (default cache)               %9s  %5.2fx floor %s\n", t(mix), mix / floor, peers("RealisticMix", mix)
  }'
}
summary ns/op
summary cpu-ns/op
echo "raw results: $raw" >&2

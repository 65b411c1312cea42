#!/usr/bin/env bash
# Runs the comparison suite and prints a benchstat table, then the performance
# targets as ratios of medians measured in this same run.
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
SEQ='^Benchmark(Uncached|Cached|InvalidSignature|Expired|RealisticMix)$'
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

# Medians of ns/op per benchmark name, and the targets as ratios.
grep '^Benchmark' "$raw" | awk '{for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") print $1, $i}' |
  sort -k1,1 -k2,2g | awk '
  { v[$1, ++n[$1]] = $2 }
  END {
    for (k in n) { c = n[k]; m[k] = (c % 2) ? v[k, (c+1)/2] : (v[k, c/2] + v[k, c/2+1]) / 2 }
    floor = m["BenchmarkUncached/lib=hmac-floor-2"]
    off = m["BenchmarkUncached/lib=possession-nocache-2"]
    miss = m["BenchmarkUncached/lib=possession-miss-2"]
    printf "\n# targets, ratios of medians from this run\n"
    printf "uncached, cache off / HMAC floor      %6.2fx  (target <= 2.0)\n", off / floor
    printf "uncached, cache miss / HMAC floor     %6.2fx  (target <= 2.0)\n", miss / floor
    printf "golang-jwt / possession, cache off    %6.2fx  (target >= 6)\n", m["BenchmarkUncached/lib=golang-jwt-2"] / off
    printf "golang-jwt / possession, cache miss   %6.2fx  (target >= 6)\n", m["BenchmarkUncached/lib=golang-jwt-2"] / miss
    printf "cache hit / HMAC floor (hot set)      %6.3fx  (target <= 0.25)\n", m["BenchmarkCached/lib=possession-2"] / m["BenchmarkCached/lib=hmac-floor-2"]
    hs = m["BenchmarkParallel/scenario=cached/lib=hmac-floor"] / m["BenchmarkParallel/scenario=cached/lib=hmac-floor-2"]
    cs = m["BenchmarkParallel/scenario=cached/lib=possession"] / m["BenchmarkParallel/scenario=cached/lib=possession-2"]
    printf "cache hit throughput -cpu 2 / -cpu 1  %6.2fx  (target >= 1.7, or >= 0.9 x HMAC scaling %.2fx = %.2fx)\n", cs, hs, 0.9 * hs
    printf "invalid signature / uncached valid    %6.2fx  (target <= 1.0, cache off)\n", m["BenchmarkInvalidSignature/lib=possession-2"] / off
    printf "realistic mix: golang-jwt / possession %5.2fx\n", m["BenchmarkRealisticMix/lib=golang-jwt-2"] / m["BenchmarkRealisticMix/lib=possession-2"]
  }'
echo "raw results: $raw" >&2

#!/usr/bin/env bash
# Runs every benchmark of every module in go.work once, briefly, so that a
# broken benchmark (a peer that stopped accepting its tokens, a panic in
# setup) fails CI. Numbers from here mean nothing; benchmarks/run.sh
# measures.
set -euo pipefail
cd "$(dirname "$0")/../.."
for d in $(go list -m -f '{{.Dir}}'); do
  m=$(realpath --relative-to=. "$d")
  if git grep -q '^func Benchmark' -- "$m/*_test.go"; then
    echo "-- $m"
    (cd "$m" && go test -run '^$' -bench . -benchtime=100x -cpu 1,2 ./...)
  fi
done

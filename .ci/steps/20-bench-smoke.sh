#!/usr/bin/env bash
# Runs every benchmark once, briefly, so that a broken benchmark (a peer
# that stopped accepting its tokens, a panic in setup) fails CI. Numbers
# from here mean nothing; benchmarks/run.sh measures.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench . -benchtime=100x -cpu 1,2 ./sdk/... ./benchmarks/...

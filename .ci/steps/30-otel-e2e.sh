#!/usr/bin/env bash
# End-to-end telemetry: build the test Collector (its own module,
# tools/otelcol) and run the e2e-tagged test that sends a verifying HTTP
# server's spans and metrics to it on 127.0.0.1 and reads them back.
set -euo pipefail
cd "$(dirname "$0")/../.."

# (Verify's allocations with no provider installed are asserted by .ci/run
# itself, without -race.)

bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT

echo "building tools/otelcol"
# tools/otelcol is not in go.work (see .ci/run): build it as its own module.
(cd tools/otelcol && GOWORK=off go vet ./... && GOWORK=off timeout 900 go build -o "$bin_dir/otelcol" .)

POSSESSION_OTELCOL_BIN="$bin_dir/otelcol" timeout 600 \
  go test -tags e2e -count=1 -timeout 8m -v ./otel/e2e/

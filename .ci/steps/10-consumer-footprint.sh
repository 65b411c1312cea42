#!/usr/bin/env bash
# What a user pays for importing possession: builds throw-away consumer
# modules outside this repository (replace -> this checkout) and checks
# their module graphs.
#
#  1. A consumer importing only sdk and keysource: `go list -m all` holds at
#     most $MAX_MODULES modules (the consumer included) and none of the heavy
#     ones (AWS SDK, gRPC, protobuf, JWT/JOSE libraries, the kumo emulator,
#     database drivers, OpenTelemetry exporters or the SDK).
#  2. A consumer pinned to an older gRPC (and otel API) keeps its versions
#     after adding the same imports and running `go mod tidy`: the core
#     raises no minimum version it does not need.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
MAX_MODULES=${MAX_MODULES:-15}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The consumers are outside this repository's go.work.
export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod"

consumer_main='package main

import (
	"fmt"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

func main() {
	v, err := sdk.New(keysource.MustStatic("consumer-secret"), sdk.WithClientID("app"))
	fmt.Println(v, err)
}
'

# new_consumer DIR: a module importing sdk and keysource, replace -> checkout.
new_consumer() {
  mkdir -p "$1"
  printf '%s' "$consumer_main" >"$1/main.go"
  (cd "$1" && go mod init example.com/consumer >/dev/null 2>&1 &&
    go mod edit -replace "github.com/possession-dev/possession=$root" &&
    go mod edit -require "github.com/possession-dev/possession@v0.0.0-00010101000000-000000000000")
}

echo "== consumer importing only sdk and keysource"
c1="$work/minimal"
new_consumer "$c1"
(cd "$c1" && go mod tidy && go build -o /dev/null .)
modules=$(cd "$c1" && go list -m all)
count=$(printf '%s\n' "$modules" | wc -l)
printf '%s\n' "$modules" | sed 's/^/  /'
echo "go list -m all: $count modules (limit $MAX_MODULES)"
fail=0
if [ "$count" -gt "$MAX_MODULES" ]; then
  echo "FAIL: $count modules, more than $MAX_MODULES"; fail=1
fi
heavy='aws-sdk-go|aws/smithy-go|google\.golang\.org/grpc|google\.golang\.org/protobuf|golang/protobuf|google\.golang\.org/genproto|lestrrat-go|jwx|go-jose|golang-jwt|sivchari/kumo|jackc/pgx|lib/pq|go-redis|redis/go-redis|modernc\.org/sqlite|mattn/go-sqlite3|go-sql-driver|otel/exporters|otel/sdk|collector'
if bad=$(printf '%s\n' "$modules" | grep -E "$heavy"); then
  echo "FAIL: heavy modules in the consumer's graph:"; printf '%s\n' "$bad" | sed 's/^/  /'; fail=1
fi
[ "$fail" = 0 ] || exit 1

echo
echo "== consumer pinned to grpc v1.60.0 and otel v1.24.0 keeps them"
c2="$work/pinned"
mkdir -p "$c2"
(cd "$c2" && go mod init example.com/pinned >/dev/null 2>&1)
cat >"$c2/grpc.go" <<'GO'
package main

import (
	_ "go.opentelemetry.io/otel"
	_ "google.golang.org/grpc"
)
GO
cat >"$c2/main.go" <<'GO'
package main

func main() {}
GO
(cd "$c2" && go mod edit -require google.golang.org/grpc@v1.60.0 -require go.opentelemetry.io/otel@v1.24.0 && go mod tidy)
before=$(cd "$c2" && go list -m all)
grpc_before=$(cd "$c2" && go list -m -f '{{.Version}}' google.golang.org/grpc)
otel_before=$(cd "$c2" && go list -m -f '{{.Version}}' go.opentelemetry.io/otel)
printf '%s' "$consumer_main" >"$c2/main.go"
(cd "$c2" && go mod edit -replace "github.com/possession-dev/possession=$root" \
  -require "github.com/possession-dev/possession@v0.0.0-00010101000000-000000000000" && go mod tidy && go build -o /dev/null .)
after=$(cd "$c2" && go list -m all)
grpc_after=$(cd "$c2" && go list -m -f '{{.Version}}' google.golang.org/grpc)
otel_after=$(cd "$c2" && go list -m -f '{{.Version}}' go.opentelemetry.io/otel)
echo "grpc $grpc_before -> $grpc_after, otel $otel_before -> $otel_after," \
  "go list -m all: $(printf '%s\n' "$before" | wc -l) -> $(printf '%s\n' "$after" | wc -l) modules"
changed=$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -E '^[<>]' || true)
if [ -n "$changed" ]; then
  echo "module graph changes on adding possession:"; printf '%s\n' "$changed" | sed 's/^/  /'
fi
if [ "$grpc_after" != "$grpc_before" ] || [ "$otel_after" != "$otel_before" ]; then
  echo "FAIL: adding possession moved the consumer's pinned versions"; exit 1
fi
# Nothing the consumer already had may move to a newer version.
if printf '%s\n' "$changed" | grep -q '^<'; then
  echo "FAIL: adding possession changed versions the consumer already had"; exit 1
fi
echo "ok"

#!/usr/bin/env bash
# Webhook differential (issue 13): webhook's verdicts on a corpus of signed
# and mutated webhook deliveries, app proxy queries and OAuth callbacks
# against @shopify/shopify-api 13.1.0 run under Node 20, with the listed
# deliberate differences asserted; plus the test module's webhook
# telemetry and goroutine-leak tests. Installs Node (if missing) and the
# pinned npm packages itself. Takes well under a minute once Node is
# there.
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
echo "node $(node --version), npm $(npm --version)"

(cd tools/shopify-js && timeout 300 npm ci --no-audit --no-fund --loglevel=error)

# CI=true: the Node tests fail instead of skipping if anything is missing.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! CI=true timeout 600 go test -race -count=1 -v ./test/webhook/ >"$log" 2>&1; then
  cat "$log"; exit 1
fi
grep -E '^(--- |ok|PASS)|differ deliberately|verdicts:' "$log"

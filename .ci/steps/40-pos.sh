#!/usr/bin/env bash
# POS suite: type-check the POS extension against the real
# @shopify/ui-extensions types, run its client module under Node's test
# runner against the live example backend, and run the headless-Chromium
# cross-origin test. Installs Node (if missing), the npm packages and
# Debian's chromium (if missing) itself. Takes about 1-3 min, most of it
# the chromium install on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js"
  apt_install nodejs npm
fi
echo "node $(node --version), npm $(npm --version)"

if ! command -v chromium >/dev/null; then
  echo "installing chromium"
  apt_install chromium
fi
chromium --version 2>/dev/null || true

ext=examples/pos-extension
(cd "$ext" && npm ci --no-audit --no-fund --loglevel=error)

echo "== tsc --noEmit ($ext)"
(cd "$ext" && npx --no-install tsc --noEmit)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/posbackend" ./examples/posbackend

echo "== node --test ($ext) against the live backend"
(cd "$ext" && POSBACKEND_BIN="$tmp/posbackend" npm test --silent)

echo "== headless chromium: cross-origin page against the backend, and the POS flow (extension code → backend → fake Shopify)"
POSSESSION_BROWSER_TESTS=1 go test -race -count=1 -run '^TestBrowser' -v ./examples/posbackend/

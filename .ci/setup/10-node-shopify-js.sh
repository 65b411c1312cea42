#!/usr/bin/env bash
# Node and Shopify's npm libraries (tools/shopify-js), which the tests of
# the test module run as reference clients and verifiers (token exchange
# and refresh, webhook/app-proxy/OAuth signatures, session tokens). Under
# CI=true those tests fail rather than skip without them, so this runs
# before any test. About 30 s on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/setup/lib.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js"
  apt_install nodejs npm
fi
echo "node $(node --version), npm $(npm --version)"
(cd tools/shopify-js && timeout 300 npm ci --no-audit --no-fund --loglevel=error)

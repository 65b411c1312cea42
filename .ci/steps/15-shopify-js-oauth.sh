#!/usr/bin/env bash
# Shopify's own @shopify/shopify-api (tools/shopify-js) runs its token
# exchange, refresh, migrate and client-credentials code against
# shopifytest, and possession's requests are compared with the official
# client's (test/access/shopifyjs_test.go). Installs Node (if missing) and
# the pinned npm packages itself; about 30 s on a fresh machine.
#
# The test fails under CI=true when tools/shopify-js/node_modules is
# absent: if the test module's tests run before this step, run the npm ci
# below before them.
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

(cd test && CI=true timeout 600 go test -race -count=1 -run '^TestShopifyJSReference$' -v ./access/)

#!/usr/bin/env bash
# Admin API against Shopify's own JS client (issue 12): installs Node (if
# missing) and tools/shopify-js's pinned npm packages, then runs
#   - Shopify's @shopify/admin-api-client 2.0.0 against shopifytest's Admin
#     GraphQL API (test/shopifytest), and
#   - the side-by-side burst: the official client and possession's admin
#     client on the same fake, in real time (about a minute).
# Both fail rather than skip here (CI=true, POSSESSION_JS_COMPARE=1).
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

(cd tools/shopify-js && npm ci --no-audit --no-fund --loglevel=error)

export CI=true
echo "== @shopify/admin-api-client against shopifytest"
(cd test && timeout 300 go test -count=1 -race -run '^TestAdminAPIClientAgainstFake$' -v ./shopifytest/)

echo "== burst: @shopify/admin-api-client vs possession admin, same fake"
POSSESSION_JS_COMPARE=1 timeout 600 go test -count=1 -run '^TestCompareWithShopifyJS$' -v ./admin/

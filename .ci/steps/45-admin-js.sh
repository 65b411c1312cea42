#!/usr/bin/env bash
# The side-by-side burst: Shopify's @shopify/admin-api-client
# 2.0.0 and possession's admin client on the same shopifytest fake, 500
# queries of cost 50 from 8 workers against a bucket of 1000 points, in
# real time (restore rate scaled x10: about 50 s). It prints both clients'
# THROTTLED counts and completion times, and fails if possession's client
# was throttled or ran below 90% of the restore rate.
# (Shopify's client against the fake, test/shopifytest, runs with the test
# module's tests; .ci/setup installs Node and tools/shopify-js first.)
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/setup/lib.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js"
  apt_install nodejs npm
fi
[ -d tools/shopify-js/node_modules ] || (cd tools/shopify-js && timeout 300 npm ci --no-audit --no-fund --loglevel=error)

CI=true POSSESSION_JS_COMPARE=1 timeout 600 go test -count=1 -run '^TestCompareWithShopifyJS$' -v ./admin/

#!/usr/bin/env bash
# Session tokens against Shopify's own library (issue 10): the corpus of
# test/sdk/shopify_differential_test.go (realistic admin/POS, checkout
# and customer-account tokens, the leeway's boundaries on a fixed clock,
# hostile mutations) through sdk.Verify and @shopify/shopify-api 13.1.0's
# decodeSessionToken under Node 20, with the audience check on and off;
# the listed deliberate differences asserted one by one. Prints the
# verdict table. Installs Node (if missing) and tools/shopify-js itself,
# with .ci/setup's script, so that it also runs alone. About 30 s with
# Node present (the test itself takes about 5 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/setup/10-node-shopify-js.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# CI=true: the test fails instead of skipping if Node or the packages are
# missing.
if ! (cd test && CI=true timeout 600 go test -count=1 -run '^TestShopify' -v ./sdk/) >"$log" 2>&1; then
  cat "$log"; exit 1
fi
grep -E '^(--- |    --- SKIP|ok|PASS)|verdicts:|^ +[0-9]+  |finding 8' "$log"

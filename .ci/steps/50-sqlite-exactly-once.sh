#!/usr/bin/env bash
# The webhook exactly-once scenario (1,000 webhooks, three concurrent
# copies each, four instances) on the SQLite store, without -race: under
# the race detector modernc.org/sqlite runs about 15 times slower and the
# scenario measures the middleware's timeouts instead (the test skips
# itself there). The Redis and PostgreSQL stores run it in .ci/run's
# -race pass. About 10 s (7.4 s measured on the loaded 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/../../access/sqlitestore"
CI=true timeout 600 go test -count=1 -run '^TestWebhookExactlyOnce$' -v . | grep -E '^(--- |    --- |ok|FAIL|PASS)|exactlyonce.go'

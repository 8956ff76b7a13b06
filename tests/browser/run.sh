#!/usr/bin/env bash
# Runs the browser tests against the local stack at E2E_HTTP_URL (see tests/e2e/run.sh): the
# Swagger UI's and the viewer's (which also edits an item in the engine at
# E2E_DYNAMODB_ENDPOINT, table E2E_TABLE_NAME, and ingests through E2E_INVOKE_URL).
# Without Chromium it is skipped with the reason, except under CI, where that is a failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The viewer's verifying module (functions/swagger/viewer/verify.mjs) on the ledger's test
# vectors: plain Node, no browser, so it runs even where Chromium is missing.
(cd "$root" && node --test tests/browser/verify.test.mjs)
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ -n "${CI:-}" ]; then
    echo "browser test: FAILED: Chromium not found at $chromium (CI must install the Debian package chromium)" >&2
    exit 1
  fi
  echo "browser test: SKIPPED: Chromium not found at $chromium (apt-get install chromium, or set CHROMIUM_PATH)" >&2
  exit 0
fi
if [ ! -f "$root/tests/browser/node_modules/playwright-core/package.json" ] \
  || [ ! -f "$root/tests/browser/node_modules/@aws-sdk/client-dynamodb/package.json" ]; then
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$root"
CHROMIUM_PATH="$chromium" node --test tests/browser/swagger.test.mjs tests/browser/viewer.test.mjs

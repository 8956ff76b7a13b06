#!/usr/bin/env bash
# Runs the browser test against the local stack at E2E_HTTP_URL (see tests/e2e/run.sh).
# Without Chromium it is skipped with the reason, except under CI, where that is a failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ -n "${CI:-}" ]; then
    echo "browser test: FAILED: Chromium not found at $chromium (CI must install the Debian package chromium)" >&2
    exit 1
  fi
  echo "browser test: SKIPPED: Chromium not found at $chromium (apt-get install chromium, or set CHROMIUM_PATH)" >&2
  exit 0
fi
if [ ! -f "$root/tests/browser/node_modules/playwright-core/package.json" ]; then
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$root"
CHROMIUM_PATH="$chromium" node --test tests/browser/swagger.test.mjs

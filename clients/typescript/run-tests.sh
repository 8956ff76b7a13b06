#!/usr/bin/env bash
# The TypeScript client's tests: installs its dependencies from the lockfile when they
# changed (npm ci), compiles with the pinned tsc, and runs `node --test`.
#   run-tests.sh        unit tests (no stack; make test runs them)
#   run-tests.sh stack  the tests against the local stack (tests/e2e/run.sh runs them)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf dist
node_modules/.bin/tsc -p .
case "${1:-unit}" in
  unit) node --test dist/test/unit.test.js ;;
  stack) node --test --test-concurrency=1 dist/test/stack.test.js ;;
  *) echo "usage: $0 [unit|stack]" >&2; exit 2 ;;
esac

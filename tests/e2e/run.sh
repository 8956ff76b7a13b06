#!/usr/bin/env bash
# Runs the end-to-end and browser tests against the real local stack: a fresh DynamoDB
# Local and the gateway binary on free ports of 127.0.0.1; stops both whatever happens.
#   run.sh            both suites
#   run.sh e2e|browser one suite
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
suite="${1:-all}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cargo build --locked -q -p audit-local --bin gateway
target_dir="${CARGO_TARGET_DIR:-$root/target}"
endpoint="$(bash infra/scripts/engine.sh start e2e)"
gateway_pid=""
cleanup() {
  if [ -n "$gateway_pid" ]; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true  # a killed gateway's status is not the suite's
  fi
  bash infra/scripts/engine.sh stop e2e
}
trap cleanup EXIT INT TERM

http_port="$(free_port)"; invoke_port="$(free_port)"
log="$root/target/engine/e2e-gateway.log"
AUDIT_DYNAMODB_ENDPOINT="$endpoint" AWS_REGION=us-east-1 AUDIT_TABLE_NAME=audit-e2e \
  LOCAL_HTTP_PORT="$http_port" LOCAL_INVOKE_PORT="$invoke_port" SEED="${E2E_SEED:-200}" \
  "$target_dir/debug/gateway" > "$log" 2>&1 &
gateway_pid=$!
for _ in $(seq 1 240); do
  grep -q '^  Ready.' "$log" 2>/dev/null && break
  kill -0 "$gateway_pid" 2>/dev/null || { echo "gateway exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.5
done
grep -q '^  Ready.' "$log" || { echo "gateway not ready after 120 s:" >&2; cat "$log" >&2; exit 1; }

export E2E_HTTP_URL="http://127.0.0.1:$http_port" E2E_INVOKE_URL="http://127.0.0.1:$invoke_port"
status=0
if [ "$suite" = all ] || [ "$suite" = e2e ]; then
  .venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e || status=$?
fi
if [ "$suite" = all ] || [ "$suite" = browser ]; then
  bash tests/browser/run.sh || status=$?
fi
exit "$status"

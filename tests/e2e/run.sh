#!/usr/bin/env bash
# Runs the end-to-end and browser tests against the real local stack: a fresh DynamoDB
# Local and the gateway binary on free ports of 127.0.0.1, the gateway running each
# function's own binary under AWS's Lambda Runtime Interface Emulator (from the pinned SAM
# CLI); stops everything whatever happens.
#   run.sh            both suites
#   run.sh e2e|browser one suite
# LOCAL_RUNTIME=inprocess runs the same suites against the handlers called in the gateway.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
suite="${1:-all}"
runtime="${LOCAL_RUNTIME:-emulator}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The function binaries are built beside the gateway: LOCAL_BOOTSTRAP_DIR is its directory.
cargo build --locked -q -p audit-local -p ingest -p query -p swagger -p sealer -p audit-verify -p audit-cli --bins
# The producer library's tests against this stack (clients/rust/tests/stack.rs), built now.
cargo test --locked -q -p audit-client --test stack --no-run
# The independent ledger check's own environment (cryptography, rfc8785).
ledger_bin="$(bash infra/scripts/venv.sh --env ledger infra/python/ledger-requirements.txt)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
rie="$(bash infra/scripts/rie.sh)"
endpoint="$(bash infra/scripts/engine.sh start e2e)"
# shellcheck disable=SC1091
engine_pid="$(. target/engine/e2e.env && echo "$ENGINE_PID")"
gateway_pid=""
cleanup() {
  kill -CONT "$engine_pid" 2>/dev/null || true  # never leave a stalled engine behind
  if [ -n "$gateway_pid" ]; then
    kill "$gateway_pid" 2>/dev/null || true   # SIGTERM: the gateway stops its emulators
    wait "$gateway_pid" 2>/dev/null || true   # a killed gateway's status is not the suite's
  fi
  bash infra/scripts/engine.sh stop e2e
}
trap cleanup EXIT INT TERM

# The ingest function's timeout is shortened so that the fault test can outlast it quickly.
ingest_timeout="${E2E_INGEST_TIMEOUT:-8}"
cors_origin="http://localhost:5173"
http_port="$(free_port)"; invoke_port="$(free_port)"
log="$root/target/engine/e2e-gateway.log"
start="$(date +%s.%N)"
AUDIT_DYNAMODB_ENDPOINT="$endpoint" AWS_REGION=us-east-1 AUDIT_TABLE_NAME=audit-e2e \
  AUDIT_LEDGER_TABLE=audit-e2e-ledger LOCAL_STATE_DIR="$root/target/engine/e2e-ledger" \
  LOCAL_HTTP_PORT="$http_port" LOCAL_INVOKE_PORT="$invoke_port" SEED="${E2E_SEED:-200}" \
  LOCAL_RUNTIME="$runtime" LOCAL_RIE="$rie" LOCAL_BOOTSTRAP_DIR="$target_dir/debug" \
  LOCAL_INGEST_TIMEOUT="$ingest_timeout" LOCAL_CORS_ALLOWED_ORIGINS="$cors_origin" \
  LOCAL_ASYNC_RETRY_DELAY=1 \
  "$target_dir/debug/gateway" > "$log" 2>&1 &
gateway_pid=$!
for _ in $(seq 1 240); do
  grep -q '^  Ready.' "$log" 2>/dev/null && break
  kill -0 "$gateway_pid" 2>/dev/null || { echo "gateway exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.5
done
grep -q '^  Ready.' "$log" || { echo "gateway not ready after 120 s:" >&2; cat "$log" >&2; exit 1; }
echo "gateway ($runtime) ready in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)") s" >&2

export E2E_HTTP_URL="http://127.0.0.1:$http_port" E2E_INVOKE_URL="http://127.0.0.1:$invoke_port"
export E2E_RUNTIME="$runtime" E2E_GATEWAY_PID="$gateway_pid" E2E_ENGINE_PID="$engine_pid"
export E2E_RIE="$rie" E2E_BOOTSTRAP_DIR="$target_dir/debug" E2E_INGEST_TIMEOUT="$ingest_timeout"
export E2E_CORS_ORIGIN="$cors_origin" E2E_GATEWAY_LOG="$log"
export E2E_LEDGER_PYTHON="$ledger_bin/python" E2E_STATE_DIR="$root/target/engine/e2e-ledger"
# The engine and table behind the gateway, the tenant of requests without a token and how
# often the gateway seals (the viewer's browser test edits an item and waits for sealing).
export E2E_DYNAMODB_ENDPOINT="$endpoint" E2E_TABLE_NAME=audit-e2e E2E_TENANT=local
export E2E_SEAL_INTERVAL="${LOCAL_SEAL_INTERVAL:-3}"
status=0
if [ "$suite" = all ] || [ "$suite" = e2e ]; then
  .venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e || status=$?
  # The producer libraries against the same stack: 20,000 events through an engine stall,
  # a lost answer, the batching limits (Rust, then TypeScript).
  cargo test --locked -q -p audit-client --test stack -- --ignored --test-threads=1 --nocapture || status=$?
  bash clients/typescript/run-tests.sh stack || status=$?
fi
if [ "$suite" = all ] || [ "$suite" = browser ]; then
  bash tests/browser/run.sh || status=$?
fi
exit "$status"

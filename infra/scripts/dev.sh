#!/usr/bin/env bash
# `make dev`: the whole service on this machine, no AWS account and no Docker.
# Installs what is missing, starts DynamoDB Local (in memory), creates the tables, seeds
# sample events (SEED=n, default 5000; SEED=0 for none) and serves the API on
# 127.0.0.1:3000 and the Lambda Invoke API on 127.0.0.1:3001, and runs the sealer every
# 3 s (signing key generated on first run under target/engine/ledger). Ctrl-C stops everything.
#
# LOCAL_RUNTIME=emulator (the default) runs each function's own binary (debug build) under
# AWS's Lambda Runtime Interface Emulator from the pinned SAM CLI, with the environment
# template.yaml gives it; LOCAL_RUNTIME=inprocess calls the handlers inside the gateway.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
export LOCAL_RUNTIME="${LOCAL_RUNTIME:-emulator}"

if [ "$LOCAL_RUNTIME" = emulator ]; then
  echo "Building the local gateway and the functions..." >&2
  cargo build --locked -q -p audit-local -p ingest -p query -p swagger -p sealer --bins
  LOCAL_RIE="$(bash infra/scripts/rie.sh)"
  export LOCAL_RIE LOCAL_BOOTSTRAP_DIR="$target_dir/debug"
else
  echo "Building the local gateway..." >&2
  cargo build --locked -q -p audit-local --bin gateway
fi

endpoint="$(bash infra/scripts/engine.sh start dev)"
trap 'bash infra/scripts/engine.sh stop dev' EXIT
echo "DynamoDB Local at $endpoint" >&2

export AUDIT_DYNAMODB_ENDPOINT="$endpoint"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AUDIT_TABLE_NAME="${AUDIT_TABLE_NAME:-audit-events}"
export AUDIT_LEDGER_TABLE="${AUDIT_LEDGER_TABLE:-$AUDIT_TABLE_NAME-ledger}"
# The ledger's local state: the signing key, generated on the first run and kept (never
# committed: target/ is ignored), and the anchor directory standing in for the Object
# Lock bucket, emptied with the in-memory engine's tables at each start.
export LOCAL_STATE_DIR="${LOCAL_STATE_DIR:-$root/target/engine/ledger}"
rm -rf "$LOCAL_STATE_DIR/anchor"
mkdir -p "$LOCAL_STATE_DIR"
export AUDIT_SHARDS="${AUDIT_SHARDS:-1}"
export SEED="${SEED:-5000}"
"$target_dir/debug/gateway"

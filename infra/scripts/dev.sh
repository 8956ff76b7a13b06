#!/usr/bin/env bash
# `make dev`: the whole service on this machine, no AWS account and no Docker.
# Installs what is missing, starts DynamoDB Local (in memory), creates the table, seeds
# sample events (SEED=n, default 5000; SEED=0 for none) and serves the API on
# 127.0.0.1:3000 and the Lambda Invoke API on 127.0.0.1:3001. Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

echo "Building the local gateway..." >&2
cargo build --locked -q -p audit-local --bin gateway

endpoint="$(bash infra/scripts/engine.sh start dev)"
trap 'bash infra/scripts/engine.sh stop dev' EXIT
echo "DynamoDB Local at $endpoint" >&2

export AUDIT_DYNAMODB_ENDPOINT="$endpoint"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AUDIT_TABLE_NAME="${AUDIT_TABLE_NAME:-audit-events}"
export AUDIT_SHARDS="${AUDIT_SHARDS:-1}"
export SEED="${SEED:-5000}"
target/debug/gateway

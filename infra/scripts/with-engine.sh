#!/usr/bin/env bash
# Runs a command with a fresh in-memory DynamoDB Local, and stops the engine afterwards
# whatever the command's outcome. The command sees AUDIT_DYNAMODB_ENDPOINT and AWS_REGION.
#   with-engine.sh NAME -- command args...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="$1"; shift
[ "${1:-}" = "--" ] && shift
endpoint="$("$here/engine.sh" start "$name")"
trap '"$here/engine.sh" stop "$name"' EXIT INT TERM
export AUDIT_DYNAMODB_ENDPOINT="$endpoint"
export AWS_REGION="${AWS_REGION:-us-east-1}"
echo "DynamoDB Local ($name) at $endpoint" >&2
"$@"

#!/usr/bin/env bash
# `make bench`: builds what is measured, starts its own DynamoDB Local (engine name `bench`),
# runs the criterion benches and the driver, and writes docs/PERFORMANCE.md.
#
# Settings are the driver's (see bench/src/bin/bench-driver.rs), e.g.
#   BENCH_SIZES=10000,100000 make bench     quicker: without the 1M tenant
#   BENCH_SKIP=cold,size,cpu make bench     only the DynamoDB sections
#   ENGINE_HEAP=16g                         the engine's JVM heap (default 12g; 100k events need more than 6g)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Own target directories, so a bench never waits on another build's lock; the Lambda
# packages get theirs because cargo-lambda cross-compiles with other flags.
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$root/target/bench}"
lambda_target="${BENCH_LAMBDA_TARGET_DIR:-$root/target/bench-lambda}"
skip=",${BENCH_SKIP:-},"

echo "bench: host release build (driver, hello-world, the three functions; one profile)" >&2
cargo build --release --locked -p audit-bench -p ingest -p query -p swagger --bins

if [[ "$skip" != *,size,* ]]; then
    echo "bench: make build (Lambda packages) into $lambda_target" >&2
    CARGO_TARGET_DIR="$lambda_target" bash infra/scripts/build.sh
fi

if [[ "$skip" != *,cpu,* ]]; then
    echo "bench: criterion benches" >&2
    cargo bench --locked -p audit-bench --bench handler
fi

export BENCH_BIN_DIR="$CARGO_TARGET_DIR/release"
export BENCH_LAMBDA_DIR="$lambda_target/lambda"
export BENCH_CRITERION_DIR="$CARGO_TARGET_DIR/criterion"
ENGINE_HEAP="${ENGINE_HEAP:-12g}" bash infra/scripts/with-engine.sh bench -- \
    "$CARGO_TARGET_DIR/release/bench-driver"

#!/usr/bin/env bash
# `make bench`: builds what is measured, starts its own DynamoDB Local (engine name `bench`),
# runs the criterion benches and the driver, and writes docs/PERFORMANCE.md.
#
# Settings are the driver's (see bench/src/bin/bench-driver/main.rs), e.g.
#   BENCH_SIZES=10000,100000 make bench     quicker: without the 1M tenant
#   BENCH_SKIP=cold,size,cpu make bench     only the DynamoDB sections
# The engine keeps its data in a SQLite file (`-dbPath`), because the 1M tables do not fit
# the in-memory engine's JVM heap on a 24 GB machine. The file goes on the RAM-backed tmpfs
# /dev/shm when there is one (about 8 GB for the default sizes): on a real disk every write's
# sync made seeding about ten times slower. ENGINE_DB_PATH chooses another directory, and
# ENGINE_HEAP the JVM heap (default 10g: a Scan of the 1M table ran out of 6g).
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
# The driver recreates its tables and deletes them at the end; the default directory is also
# emptied first, in case an interrupted run left a database behind.
if [[ -z "${ENGINE_DB_PATH:-}" ]]; then
    if [[ -d /dev/shm && -w /dev/shm ]]; then
        export ENGINE_DB_PATH="/dev/shm/audit-bench-engine"
    else
        export ENGINE_DB_PATH="$root/target/bench-engine"
    fi
    rm -rf "$ENGINE_DB_PATH"
    # Whatever happens to the run, the database does not outlive it.
    trap 'rm -rf "$ENGINE_DB_PATH"' EXIT
fi
mkdir -p "$ENGINE_DB_PATH"
ENGINE_HEAP="${ENGINE_HEAP:-10g}" bash infra/scripts/with-engine.sh bench -- \
    "$CARGO_TARGET_DIR/release/bench-driver"

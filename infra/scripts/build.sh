#!/usr/bin/env bash
# Release build of the Lambda functions with cargo-lambda (strip, LTO, panic=abort
# from the workspace's release profile), as `sam build` does: target/lambda/<name>/bootstrap.
#
# template.yaml deploys arm64 (Graviton). Cross-compiling needs the Rust standard library
# for aarch64-unknown-linux-gnu; when it is missing and `rustup target add` cannot fetch it
# (an offline machine), this script says so loudly and builds for x86-64 instead, so that
# the release build (LTO, linking with zig) is still proven. Set AUDIT_REQUIRE_ARM64=1 to
# make that an error instead (release pipelines). See docs/adr/0005-stack.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# cargo-lambda, and zig (as `python -m ziglang`) for cross-linking, come from the project's
# Python environment.
bin="$(bash infra/scripts/venv.sh)"
export PATH="$bin:$PATH"

target=aarch64-unknown-linux-gnu
arch=--arm64
if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
    echo "build.sh: the Rust standard library for $target is not installed; trying rustup" >&2
    if ! { command -v rustup >/dev/null 2>&1 && rustup target add "$target"; }; then
        if [ "${AUDIT_REQUIRE_ARM64:-0}" = 1 ]; then
            echo "build.sh: ERROR: cannot install $target and AUDIT_REQUIRE_ARM64=1" >&2
            exit 1
        fi
        arch=--x86-64
        cat >&2 <<EOF
build.sh: WARNING: cannot install the Rust standard library for $target on this machine.
build.sh: WARNING: building for x86-64 instead. These binaries prove the release build but
build.sh: WARNING: do NOT match template.yaml (arm64): deploy with 'sam build', which builds
build.sh: WARNING: arm64 on a machine that has the target (rustup target add $target).
EOF
    fi
fi

packages=(ingest query swagger sealer token)
echo "build.sh: cargo lambda build --release $arch for ${packages[*]}" >&2
start=$(date +%s)
cargo lambda build --release "$arch" --locked "${packages[@]/#/--package=}"
elapsed=$(($(date +%s) - start))

out="${CARGO_TARGET_DIR:-$root/target}/lambda"
for p in "${packages[@]}"; do
    if [ ! -f "$out/$p/bootstrap" ]; then
        echo "build.sh: ERROR: $out/$p/bootstrap was not produced" >&2
        exit 1
    fi
    printf 'build.sh: %-8s %s (%s bytes)\n' "$p" "$out/$p/bootstrap" "$(stat -c %s "$out/$p/bootstrap")" >&2
done
echo "build.sh: built ${#packages[@]} functions ($arch) in ${elapsed}s" >&2

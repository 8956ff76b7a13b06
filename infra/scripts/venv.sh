#!/usr/bin/env bash
# Creates the project's Python environment `.venv/` if it is missing and installs pinned
# requirements into it, each file only when its content changed since it was last installed.
#
#   infra/scripts/venv.sh [--env NAME] [requirements-file ...]
#       (default: infra/python/requirements.txt)
#
# Several requirement files share the one environment (the stack tools here, the OpenAPI
# validator elsewhere), so nothing is ever uninstalled and the environment is never rebuilt
# because of one file: each file has its own stamp `.venv/.stamp-<name>` holding the SHA-256
# of the content last installed. Prints the environment's bin directory on success.
#
# `--env NAME` installs into a separate environment `.venv/NAME/` instead, for a tool whose
# pinned dependencies clash with the stack tools' (checkov wants another boto3 than the SAM
# CLI accepts). It lives inside `.venv/` so that it is ignored by git and removed by
# `make clean` like the main one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

name=""
if [ "${1:-}" = "--env" ]; then
    name="${2:?venv.sh: --env needs a name}"
    case "$name" in
        *[!a-z0-9-]*) echo "venv.sh: environment name $name: use a-z, 0-9 and -" >&2; exit 1 ;;
    esac
    shift 2
fi

if [ "$#" -eq 0 ]; then
    set -- "$root/infra/python/requirements.txt"
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "venv.sh: $python not found; install Python 3.9 or later" >&2
    exit 1
fi

# Two make targets may run this at once: the first creates and installs, the other waits.
# One lock for every environment, in the main one's directory.
mkdir -p "$venv"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv/.lock"
    flock 9
fi
if [ -n "$name" ]; then
    venv="$venv/$name"
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "venv.sh: creating $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
fi

for requirements in "$@"; do
    if [ ! -f "$requirements" ]; then
        echo "venv.sh: requirements file $requirements not found" >&2
        exit 1
    fi
    stamp="$venv/.stamp-$(basename "$requirements")"
    hash="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
        continue
    fi
    echo "venv.sh: installing $(basename "$requirements") into $venv" >&2
    # The stamp is written only after a successful install, so a failed or interrupted
    # install is retried next time.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$hash" >"$stamp"
done

echo "$venv/bin"

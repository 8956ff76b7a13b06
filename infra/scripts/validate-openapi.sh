#!/usr/bin/env bash
# Validates the committed OpenAPI document with independent tools: openapi-spec-validator
# (structure, against the OpenAPI 3.1 schema) and check-openapi-examples.py (every example
# against its schema). Both come pinned from infra/python/openapi-requirements.txt, installed
# into the project's Python environment .venv/ when missing or when that file changed.
#
#   infra/scripts/validate-openapi.sh [document]   (default: docs/openapi.json)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
requirements="$root/infra/python/openapi-requirements.txt"
document="${1:-$root/docs/openapi.json}"

if [ -f "$here/venv.sh" ]; then
    # The shared environment script: one .venv/, one install stamp per requirements file.
    bin="$(bash "$here/venv.sh" "$requirements")"
else
    venv="$root/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        echo "validate-openapi.sh: creating $venv" >&2
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    stamp="$venv/.stamp-$(basename "$requirements")"
    hash="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
        echo "$hash" >"$stamp"
    fi
    bin="$venv/bin"
fi

"$bin/openapi-spec-validator" "$document"
"$bin/python" "$here/check-openapi-examples.py" "$document"

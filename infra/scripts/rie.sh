#!/usr/bin/env bash
# Prints the path of AWS's Lambda Runtime Interface Emulator (`aws-lambda-rie`) for this
# machine's architecture, as shipped inside the pinned SAM CLI package (the program that
# `sam local` runs in its containers). Installs the Python tools into .venv/ first if they
# are missing (infra/scripts/venv.sh); nothing is downloaded from anywhere else.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "rie.sh: no emulator for architecture $(uname -m) in the SAM CLI" >&2; exit 1 ;;
esac
bin="$(bash "$root/infra/scripts/venv.sh")"
venv="$(dirname "$bin")"
for candidate in "$venv"/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-"$arch"; do
  if [ -f "$candidate" ]; then
    [ -x "$candidate" ] || chmod +x "$candidate"
    echo "$candidate"
    exit 0
  fi
done
echo "rie.sh: aws-lambda-rie-$arch not found in the SAM CLI under $venv (pinned in infra/python/requirements.txt)" >&2
exit 1

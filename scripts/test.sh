#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
python3 -m pip install -q -e '.[test]'
exec python3 -m pytest "$@"

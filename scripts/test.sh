#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them:
#  1. Debian packages (Tesseract + chi_sim, CJK fonts, Chromium), when missing;
#  2. a fresh virtual environment with the project installed from
#     pyproject.toml alone (not editable), so a dependency the project forgot
#     to declare fails here as it would on a user's machine; `pip check`;
#  3. pytest inside that environment, with the installed package (not the
#     source tree) on the import path.
# VENV overrides where the environment goes (default .venv-test, rebuilt each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
VENV="${VENV:-.venv-test}"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q '.[test]'
"$VENV/bin/python" -m pip check
rm -rf build
# `pytest` (not `python -m pytest`) keeps the checkout's root off sys.path.
exec "$VENV/bin/pytest" "$@"

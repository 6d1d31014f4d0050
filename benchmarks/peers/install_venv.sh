#!/usr/bin/env bash
# Makes PEER_DIR/.venv with PEER_DIR/requirements.txt, apart from automl's venv, and imports the peer in
# it (CHECK, a Python line) so a broken install fails here, not mid-benchmark. Re-running is safe: an
# existing venv is reused and pip only fills in what is missing. Called by each peer's install.sh.
#
#   bash benchmarks/peers/install_venv.sh PEER_DIR NAME CHECK [PYTHON]   # PYTHON defaults to python3
set -euo pipefail

PEER_DIR="$1"
NAME="$2"
CHECK="$3"
PYTHON="${4:-python3}"
VENV="$PEER_DIR/.venv"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$PEER_DIR/requirements.txt"
"$VENV/bin/python" -c "$CHECK"
echo "$NAME ready: $VENV/bin/python"

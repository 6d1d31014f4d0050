#!/usr/bin/env bash
# Installs AutoGluon 1.6.3's tabular predictor in its own virtual environment,
# benchmarks/peers/autogluon/.venv, apart from automl's, CPU only (LightGBM, CatBoost, XGBoost; no
# torch). Re-running is safe: an existing venv is reused and pip only fills in what is missing.
#
#   bash benchmarks/peers/autogluon/install.sh [PYTHON]     # PYTHON defaults to python3 (3.10-3.12)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${1:-python3}"
VENV="$HERE/.venv"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt"
# The import itself is the check: it fails here, not in the middle of a benchmark.
"$VENV/bin/python" -c "import autogluon.tabular as t; print('autogluon.tabular', t.__version__)"
echo "AutoGluon ready: $VENV/bin/python"

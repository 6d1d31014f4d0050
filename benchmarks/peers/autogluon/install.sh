#!/usr/bin/env bash
# Installs AutoGluon 1.6.3's tabular predictor in its own virtual environment,
# benchmarks/peers/autogluon/.venv, apart from automl's, CPU only (LightGBM, CatBoost, XGBoost; no
# torch). Re-running is safe: an existing venv is reused and pip only fills in what is missing.
#
#   bash benchmarks/peers/autogluon/install.sh [PYTHON]     # PYTHON defaults to python3 (3.10-3.12)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/../install_venv.sh" "$HERE" AutoGluon \
    "import autogluon.tabular as t; print('autogluon.tabular', t.__version__)" "${1:-python3}"

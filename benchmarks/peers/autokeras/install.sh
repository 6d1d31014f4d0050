#!/usr/bin/env bash
# Installs AutoKeras 3.0.0 in its own virtual environment, benchmarks/peers/autokeras/.venv, apart from
# automl's (AutoKeras needs an older Keras than automl uses). Versions pinned to a set measured to work
# on a 2-core CPU machine (see README.md beside this file):
#   - keras 3.12.0: with keras >= 3.15, Dense rejects the NumPy integer `units` AutoKeras 3.0.0 passes;
#   - tensorboard: AutoKeras 3.0.0 imports it without declaring it.
# Re-running is safe: an existing venv is reused and pip only fills in what is missing.
#
#   bash benchmarks/peers/autokeras/install.sh [PYTHON]     # PYTHON defaults to python3 (3.10-3.12)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/../install_venv.sh" "$HERE" AutoKeras \
    "import autokeras, keras, tensorflow; print('autokeras', autokeras.__version__, '| keras', keras.__version__, '| tensorflow', tensorflow.__version__)" "${1:-python3}"

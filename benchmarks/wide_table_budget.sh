#!/usr/bin/env bash
# Does the time budget hold on a wide table (issue 18, point 6)? A 60-row table with 3,000 numeric
# columns, run with budgets that are too short (a clear refusal is expected) and long enough.
# Usage: bash benchmarks/wide_table_budget.sh   (about 5 minutes on 2 cores)
set -euo pipefail
work=$(mktemp -d)
python - "$work/wide.csv" <<'PY'
import sys
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(60, 3000)), columns=[f"c{i}" for i in range(3000)])
frame["label"] = rng.choice(["a", "b"], size=60)
frame.to_csv(sys.argv[1], index=False)
PY
for budget in 40 100 150; do
  start=$(date +%s)
  automl run "$work/wide.csv" --modality table --time-budget "$budget" -o "$work/run$budget" 2>&1 \
    | grep -E "^(Error|✓)" || true
  echo "budget ${budget}s: wall $(( $(date +%s) - start ))s"
done
rm -rf "$work"

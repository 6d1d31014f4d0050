"""Small data: does re-ranking by k-fold cross-validation and refitting on train + validation (issue 13)
beat ranking on the small validation split? Each dataset runs twice in one invocation, alternating,
with the same budget and preset: the default (cross-validation) and `--no-cross-validation`.

    python benchmarks/cross_validation_check.py [--datasets breast_cancer,gunpoint] [--budget SECONDS]

Prepare breast_cancer first with benchmarks/prepare_data.py; the UCR/UEA sets come with aeon.
Prints one Markdown row per dataset (test accuracy and wall time of each run, the folds' mean ± spread,
and the simple models each run fits beside its search: scikit-learn trees and a linear model for
tables, aeon's MiniRocket + ridge for series).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmarks import BENCHMARKS, DEFAULT_DATA_DIR, DEFAULT_RUNS_DIR, run_automl  # noqa: E402

DATASETS = ("breast_cancer", "gunpoint", "italy_power_demand", "arrowhead")


def one_run(name: str, cross_validation: bool, budget: float, args) -> dict:
    bench = BENCHMARKS[name]
    data = Path(bench.data) if Path(bench.data).is_absolute() else args.data_dir / bench.data
    run_dir = args.runs_dir / f"cv-{name}-{'on' if cross_validation else 'off'}"
    flags = [*bench.flags, *(() if cross_validation else ("--no-cross-validation",))]
    code, seconds, log = run_automl(data, run_dir, budget, args.data_dir / "keras_home", flags)
    if code != 0:
        return {"cell": f"failed (exit {code}, {log})", "seconds": seconds, "folds": "", "simple": ""}
    summary = json.loads((run_dir / "summary.json").read_text())
    folds = summary.get("cross_validation")
    fold_cell = ""
    if folds:
        chosen = next(c for c in folds["candidates"] if c["trial_id"] == folds["chosen"])
        scores = chosen["scores"]
        mean = sum(scores) / len(scores)
        spread = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
        fold_cell = f"{folds['folds']} folds, {len(folds['candidates'])} candidates: {mean:.2%} ± {spread:.2%}"
    simple = summary.get("simple_models") or {"models": []}
    simple_cell = ", ".join(f"{m['name']} {m['test_score']:.2%} ({m['seconds']:.1f} s)" for m in simple["models"])
    return {"cell": f"{summary['metrics']['test']['accuracy']:.2%}", "seconds": seconds, "folds": fold_cell,
            "simple": simple_cell}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--budget", type=float, default=None, help="seconds per run (default: the benchmark's)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR)
    args = parser.parse_args()
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    print("| dataset | budget | cross-validation + refit | validation only | folds of the chosen trial "
          "| simple models in the same run (test) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.datasets.split(","):
        budget = args.budget or BENCHMARKS[name].budget_s
        on = one_run(name, True, budget, args)
        off = one_run(name, False, budget, args)
        print(f"| {name} | {budget:g} s | {on['cell']} ({on['seconds']:.0f} s) | {off['cell']} ({off['seconds']:.0f} s) "
              f"| {on['folds']} | {on['simple'] or off['simple']} |", flush=True)


if __name__ == "__main__":
    main()

"""Run AutoGluon's TabularPredictor on one fixed train/val/test split under a wall-clock budget; write a
JSON result.

Runs inside benchmarks/peers/autogluon/.venv (made by install.sh), never in automl's venv. AutoGluon
gets train + validation together as its training data (it carves its own holdout or bags folds, as
automl's cross-validation refits on train + validation), `time_limit` = what is left of the budget
counted from process start (imports included, as automl's budget is), and the preset named by
--presets (best_quality by default: AutoGluon's own advice when accuracy matters). The fitted
predictor is scored on the test split.

    .venv/bin/python runner.py SPLIT.npz --task classification|regression --budget SECONDS --output RESULT.json

SPLIT.npz holds x_train, y_train, x_val, y_val, x_test, y_test (a 2-D feature array per split).
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

LABEL = "label"
# Seconds kept back from the budget for predicting the test split after the fit.
PREDICT_RESERVE_S = 5.0


def frame(features: np.ndarray, labels: np.ndarray | None = None) -> pd.DataFrame:
    data = pd.DataFrame(features, columns=[f"f{i}" for i in range(features.shape[1])])
    if labels is not None:
        data[LABEL] = labels
    return data


def run(args) -> dict:
    from autogluon.tabular import TabularPredictor
    from sklearn.metrics import accuracy_score, r2_score

    with np.load(args.split, allow_pickle=False) as archive:
        split = {key: archive[key] for key in archive.files}
    train = frame(np.concatenate([split["x_train"], split["x_val"]]),
                  np.concatenate([split["y_train"], split["y_val"]]))
    classify = args.task == "classification"
    workdir = Path(tempfile.mkdtemp(prefix="autogluon-", dir=args.workdir))
    time_limit = max(1.0, args.budget - (time.monotonic() - STARTED) - PREDICT_RESERVE_S)
    result = {"tool": "autogluon", "task": args.task, "budget_s": args.budget, "presets": args.presets,
              "time_limit": round(time_limit, 1), "error": None, "test_score": None}
    try:
        predictor = TabularPredictor(label=LABEL, path=str(workdir), verbosity=args.verbosity,
                                     problem_type=("multiclass" if len(np.unique(train[LABEL])) > 2 else "binary")
                                     if classify else "regression",
                                     eval_metric="accuracy" if classify else "r2")
        predictor.fit(train, time_limit=time_limit, presets=args.presets)
        result["fit_seconds"] = round(time.monotonic() - STARTED, 2)
        predicted = predictor.predict(frame(split["x_test"])).to_numpy()
        score = accuracy_score if classify else r2_score
        result.update(test_score=float(score(split["y_test"], predicted)), metric="accuracy" if classify else "r2",
                      best_model=str(predictor.model_best), models=len(predictor.model_names()))
    except Exception as exception:  # noqa: BLE001 — a failing peer is a result to report, not a crash
        result["error"] = f"{type(exception).__name__}: {exception}".splitlines()[0][:500]
        traceback.print_exc()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("split", type=Path, help=".npz with x_train, y_train, x_val, y_val, x_test, y_test")
    parser.add_argument("--task", choices=("classification", "regression"), required=True)
    parser.add_argument("--budget", type=float, required=True, help="wall-clock seconds, counted from start-up")
    parser.add_argument("--output", type=Path, required=True, help="JSON file to write the result to")
    parser.add_argument("--presets", default="best_quality", help="AutoGluon preset (default: best_quality)")
    parser.add_argument("--workdir", type=Path, default=None, help="where AutoGluon keeps its models (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep AutoGluon's model directory")
    parser.add_argument("--verbosity", type=int, default=2)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    result["wall_seconds"] = round(time.monotonic() - STARTED, 2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"autogluon: test {result.get('metric', 'score')} {result['test_score']}, {result['wall_seconds']:.0f} s"
          + (f", error: {result['error']}" if result["error"] else ""), flush=True)
    return 0 if result["test_score"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())

"""Anomaly detection on real data: automl's autoencoders (`--task anomaly`) against scikit-learn's
IsolationForest where it applies, on three sets laid out as automl reads them:

- breast_cancer (scikit-learn): benign is normal. train.csv holds benign rows only; test.csv holds held-out
  benign and every malignant row, with a `label` column (1 = malignant = anomaly) that only scores.
- MNIST, one digit against the rest: a flat folder of the digit's training images (normal) and an anomaly/
  sub-folder of other digits (known anomalies, scored on test only). From mnist.npz (benchmarks/prepare_data.py).
- KDD-TSAD 135 (UCR anomaly archive, InternalBleeding16; shipped with aeon): the series cut into windows.
  NAME_TRAIN.ts holds unlabelled windows of the normal training stretch; NAME_TEST.ts the windows of the
  rest, labelled anomaly when they overlap the marked anomaly.

Prints a Markdown table: ROC AUC, precision, recall and F1 at the threshold (test), seconds, and
IsolationForest's ROC AUC / F1 beside (on the table; on the windows' values for the series).

    python benchmarks/anomaly.py [--data-dir /tmp/automl-bench-data] [--sets breast_cancer,mnist,kdd135]
                                 [--subset 1.0] [--time-budget 300] [--max-trials 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA_DIR = Path("/tmp/automl-bench-data")
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
NORMAL_DIGIT = 0
WINDOW, STRIDE = 64, 16


def breast_cancer(root: Path, subset: float, seed: int = 0) -> tuple[Path, tuple]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "label"})
    frame["label"] = (frame["label"] == 0).astype(int)  # scikit-learn: 0 malignant, 1 benign
    frame = frame.sample(frac=subset, random_state=seed)
    benign, malignant = frame[frame["label"] == 0], frame[frame["label"] == 1]
    held = benign.sample(frac=0.25, random_state=seed)
    folder = root / "breast_cancer"
    folder.mkdir(parents=True)
    benign.drop(held.index).to_csv(folder / "train.csv", index=False)
    pd.concat([held, malignant]).to_csv(folder / "test.csv", index=False)
    return folder, _forest_inputs(benign.drop(held.index), pd.concat([held, malignant]))


def mnist(root: Path, data_dir: Path, subset: float, seed: int = 0) -> tuple[Path, None]:
    from PIL import Image

    source = data_dir / "mnist.npz" if (data_dir / "mnist.npz").is_file() else SHARED_MNIST
    arrays = np.load(source)
    rng = np.random.default_rng(seed)
    normal = arrays["x_train"][arrays["y_train"] == NORMAL_DIGIT]
    others = arrays["x_test"][arrays["y_test"] != NORMAL_DIGIT]
    normal = normal[rng.permutation(len(normal))[:max(30, int(len(normal) * subset))]]
    others = others[rng.permutation(len(others))[:max(5, int(len(normal) * 0.1))]]  # ~10 % of normal
    folder = root / f"mnist_{NORMAL_DIGIT}"
    (folder / "anomaly").mkdir(parents=True)
    for i, pixels in enumerate(normal):
        Image.fromarray(pixels).save(folder / f"{i}.png")
    for i, pixels in enumerate(others):
        Image.fromarray(pixels).save(folder / "anomaly" / f"{i}.png")
    return folder, None


def kdd135(root: Path, subset: float) -> tuple[Path, tuple]:
    import aeon

    folder = Path(aeon.__file__).parent / "datasets" / "data" / "KDD-TSAD_135"
    train = pd.read_csv(next(folder.glob("*_TRAIN.csv")))
    test = pd.read_csv(next(folder.glob("*_TEST.csv")))
    test = test.iloc[len(train):]  # the TEST file repeats the training stretch first
    windows = {}
    for name, frame in (("TRAIN", train), ("TEST", test)):
        values, flags = frame["value"].to_numpy(), frame["is_anomaly"].to_numpy()
        starts = list(range(0, len(values) - WINDOW + 1, STRIDE))
        step = max(1, round(1 / subset))  # a subset keeps every window over the anomaly and every step-th other
        starts = [s for i, s in enumerate(starts) if i % step == 0 or flags[s:s + WINDOW].any()]
        windows[name] = (np.stack([values[s:s + WINDOW] for s in starts]),
                         np.array([int(flags[s:s + WINDOW].any()) for s in starts]))
    out = root / "kdd135"
    out.mkdir(parents=True)
    for name, (values, labels) in windows.items():
        labelled = name == "TEST"
        header = ["@problemName KDD135", "@timeStamps false", "@univariate true", "@equalLength true",
                  f"@seriesLength {WINDOW}", f"@classLabel {'true normal anomaly' if labelled else 'false'}", "@data"]
        rows = [",".join(f"{v:.5g}" for v in row) + (f":{'anomaly' if flag else 'normal'}" if labelled else "")
                for row, flag in zip(values, labels)]
        (out / f"KDD135_{name}.ts").write_text("\n".join(header + rows) + "\n")
    return out, (windows["TRAIN"][0], windows["TEST"][0], windows["TEST"][1])


def _forest_inputs(train: pd.DataFrame, test: pd.DataFrame) -> tuple:
    return train.drop(columns="label").to_numpy(), test.drop(columns="label").to_numpy(), test["label"].to_numpy()


def isolation_forest(inputs) -> dict:
    """IsolationForest's ROC AUC, and F1 with its own contamination cut (scikit-learn's default rule)."""
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import f1_score, roc_auc_score

    if inputs is None or len(set(inputs[2])) < 2:
        return {}
    train, test, labels = inputs
    forest = IsolationForest(n_estimators=200, random_state=0).fit(train)
    return {"roc_auc": roc_auc_score(labels, -forest.score_samples(test)),
            "f1": f1_score(labels, forest.predict(test) == -1)}


def run_one(data: Path, run_dir: Path, args) -> tuple[dict, float]:
    from automl.cli import main as automl

    flags = ["--output", str(run_dir), "--max-trials", str(args.max_trials), "--time-budget", str(args.time_budget),
             "--epochs", str(args.epochs), "--task", "anomaly"]
    start = time.perf_counter()
    if automl(["run", str(data), *flags]) != 0:
        raise SystemExit(f"automl run failed on {data}")
    return json.loads((run_dir / "summary.json").read_text()), time.perf_counter() - start


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--sets", default="breast_cancer,mnist,kdd135")
    parser.add_argument("--subset", type=float, default=1.0, help="share of each set to use (a smoke test: 0.05)")
    parser.add_argument("--time-budget", default="300")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="automl-anomaly-"))
    makers = {"breast_cancer": lambda: breast_cancer(root / "data", args.subset),
              "mnist": lambda: mnist(root / "data", args.data_dir, args.subset),
              "kdd135": lambda: kdd135(root / "data", args.subset)}
    rows = []
    for name in [n.strip() for n in args.sets.split(",") if n.strip()]:
        data, forest_inputs = makers[name]()
        summary, seconds = run_one(data, root / "runs" / name, args)
        test, forest = summary["metrics"]["test"], isolation_forest(forest_inputs)
        rows.append(f"| {name} | {summary['family']} | {_fmt(test.get('roc_auc'))} | {_fmt(test.get('precision'))} | "
                    f"{_fmt(test.get('recall'))} | {_fmt(test.get('f1'))} | {seconds:.0f} | "
                    f"{_fmt(forest.get('roc_auc'))} | {_fmt(forest.get('f1'))} |")
    print("\n| set | family | ROC AUC | precision | recall | F1 | seconds | IsolationForest ROC AUC | IsolationForest F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"\n(run directories under {root / 'runs'}; threshold: the 0.99 quantile of validation errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

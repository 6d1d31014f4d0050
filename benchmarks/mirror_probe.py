"""Do mirror images keep their class? The check the profile makes for images that are not photos
(automl/profile/images.py, mirror_keeps_class), run by itself on real data sets.

A logistic regression (C = 0.1) on the raw pixels of up to 4,000 training images is fitted with and without
their mirror images and scored on 2,000 other training images (and, fitted without, on their mirrors).

    python benchmarks/prepare_data.py
    python benchmarks/mirror_probe.py [--data /tmp/automl-bench-data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/automl-bench-data"))
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    for name in ("fashion_mnist", "mnist", "digits"):
        data = np.load(args.data / f"{name}.npz")
        x, y = data["x_train"].astype("float32"), data["y_train"]
        x = x.reshape(len(x), 8, 8) if x.ndim == 2 else x
        order = np.random.default_rng(0).permutation(len(x))
        train, val = order[:min(4000, len(x) * 3 // 4)], order[len(x) * 3 // 4:][:2000]
        flat = lambda a: a.reshape(len(a), -1) / max(1.0, float(a.max()))  # noqa: E731
        start = time.perf_counter()
        plain = LogisticRegression(max_iter=300, C=0.1).fit(flat(x[train]), y[train])
        mirrored = LogisticRegression(max_iter=300, C=0.1).fit(
            flat(np.concatenate([x[train], x[train][:, :, ::-1]])), np.concatenate([y[train], y[train]]))
        print(f"{name}: plain {plain.score(flat(x[val]), y[val]):.2%}, with mirror images "
              f"{mirrored.score(flat(x[val]), y[val]):.2%}, plain on mirrored {plain.score(flat(x[val][:, :, ::-1]), y[val]):.2%} "
              f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

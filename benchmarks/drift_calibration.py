"""How often the drift check cries wolf, and how often it finds a real shift (automl.modalities.drift).

For each batch size n: 200 batches drawn from the training distribution (a false alarm if any is called
drifted) and 200 shifted by 0.5 and 1 standard deviation (found if called drifted), against a reference of
2,000 training values. Also on a real column: breast_cancer's `mean radius`, reference from a random 70 %
of the rows, batches from the other 30 % (the same population) and from the same rows scaled by 1.2.

    python benchmarks/drift_calibration.py
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer

from automl.modalities.drift import compare, reference_for

DRAWS = 200


def rate(reference: dict, draw) -> float:
    return sum(bool(compare(reference, {"x": {"kind": "numeric", "values": draw()}})["drifted"])
               for _ in range(DRAWS)) / DRAWS


def main() -> None:
    rng = np.random.default_rng(0)
    reference = reference_for({"x": {"kind": "numeric", "values": rng.normal(size=2000)}})
    print("| data | n | false alarms (same distribution) | found: +0.5 std | found: +1 std |")
    print("|---|---|---|---|---|")
    for n in (20, 30, 80, 300, 1000):
        print(f"| normal, reference 2,000 | {n} | {rate(reference, lambda: rng.normal(size=n)):.1%} | "
              f"{rate(reference, lambda: rng.normal(0.5, 1, size=n)):.1%} | "
              f"{rate(reference, lambda: rng.normal(1, 1, size=n)):.1%} |")
    radius = load_breast_cancer(as_frame=True).frame["mean radius"].to_numpy()
    order = rng.permutation(len(radius))
    train, rest = radius[order[:398]], radius[order[398:]]
    reference = reference_for({"x": {"kind": "numeric", "values": train}})
    for n in (30, 80, 171):
        same = rate(reference, lambda: rng.choice(rest, n, replace=False))
        scaled = rate(reference, lambda: 1.2 * rng.choice(rest, n, replace=False))
        print(f"| breast_cancer mean radius, reference 398 rows | {n} | {same:.1%} | ×1.2: {scaled:.1%} | — |")


if __name__ == "__main__":
    main()

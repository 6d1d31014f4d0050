"""Which linear head suits MiniRocket features: aeon's MiniRocket transform (standardised) with ridge
(RidgeClassifierCV, MiniRocket's own) or logistic regression at several strengths, on the official
UCR/UEA train/test splits aeon ships. It chose the head automl's series_rocket family fits in closed
form (automl/search/warm_start.py: logistic regression, C = 1). Seconds per dataset on 2 cores.

    python benchmarks/minirocket_heads.py [--datasets ItalyPowerDemand,GunPoint,ArrowHead]
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np


def main(argv=None) -> int:
    from aeon.datasets import load_classification
    from aeon.transformations.collection.convolution_based import MiniRocket
    from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="ItalyPowerDemand,GunPoint,ArrowHead")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    strengths = (0.01, 0.1, 1.0, 10.0)
    print("| dataset | ridge (CV alpha) | " + " | ".join(f"logistic C={c:g}" for c in strengths) + " |")
    print("| --- " * (2 + len(strengths)) + "|")
    for name in args.datasets.split(","):
        (x_train, y_train), (x_test, y_test) = (load_classification(name, split=s) for s in ("train", "test"))
        rocket = MiniRocket(random_state=0).fit(x_train)
        scaler = StandardScaler().fit(rocket.transform(x_train))
        train, test = (scaler.transform(rocket.transform(x)) for x in (x_train, x_test))
        ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(train, y_train)
        cells = [f"{ridge.score(test, y_test):.2%} ({ridge.alpha_:.3g})"]
        cells += [f"{LogisticRegression(C=c, max_iter=2000).fit(train, y_train).score(test, y_test):.2%}"
                  for c in strengths]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

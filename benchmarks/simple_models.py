"""The simple models automl fits before its deep search (automl/search/simple.py), on the benchmark data:
what each scores on validation and test and how long it takes to fit, through automl's own ingest and
split (the same split `automl run --pipeline benchmark` makes). The yardstick every deep result in
RESULTS.md is held against; no deep model is trained here.

    python benchmarks/simple_models.py [--datasets imdb,sst2] [--data-dir /tmp/automl-bench-data]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import run_benchmarks as bench  # same folder: the dataset table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="sst2,imdb")
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    problem = bench.check_inputs(names, args.data_dir)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from automl.config import load_config
    from automl.pipeline import plan_run
    from automl.search.simple import fit_simple_models

    print("| dataset | simple model | validation | test | fit seconds | train / val / test |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        start = time.perf_counter()
        dataset, profile, _ = plan_run(load_config("benchmark", data=str(args.data_dir / bench.BENCHMARKS[name].data)))
        read = time.perf_counter() - start
        simple = fit_simple_models(dataset, profile)
        sizes = " / ".join(f"{split.size:,}" for split in dataset.splits().values())
        for model in (simple.models if simple else ()):
            print(f"| {name} | {model.name} | {model.val_score:.2%} | {model.test_score:.2%} | {model.seconds:.1f} "
                  f"(ingest + profile {read:.0f} s) | {sizes} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

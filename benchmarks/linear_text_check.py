"""The text n-gram member of the final ensemble on its own (automl/search/linear_text.py): its accuracy, fit
time and prediction time, beside the scikit-learn NBSVM simple model it mirrors, on automl's own split.

    python benchmarks/linear_text_check.py [--datasets sst2,imdb]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import run_benchmarks as bench  # same folder: the dataset table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="sst2,imdb")
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    import tensorflow as tf

    from automl.config import load_config
    from automl.pipeline import plan_run
    from automl.search.linear_text import fit_linear_text_model
    from automl.search.simple import fit_simple_models, split_texts

    print("| dataset | model | n-grams | fit | val | test | predicting test |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.datasets.split(","):
        data = str(args.data_dir / bench.BENCHMARKS[name].data)
        dataset, profile, _ = plan_run(load_config("benchmark", data=data))
        texts = {split: split_texts(getattr(dataset, split)) for split in ("train", "val", "test")}
        labels = {split: np.asarray(getattr(dataset, split).labels) for split in texts}
        fitted = fit_linear_text_model(texts["train"], labels["train"], len(profile.class_names))
        scores = {}
        for split in ("val", "test"):
            start = time.perf_counter()
            probabilities = fitted.model.predict(tf.constant(texts[split]), batch_size=64, verbose=0)
            scores[split] = (float((probabilities.argmax(1) == labels[split]).mean()), time.perf_counter() - start)
        print(f"| {name} | Keras n-gram member | {fitted.ngrams:,} | {fitted.seconds:.1f} s | {scores['val'][0]:.2%} | "
              f"{scores['test'][0]:.2%} | {scores['test'][1]:.1f} s for {len(texts['test']):,} |", flush=True)
        for simple in fit_simple_models(dataset, profile).models:
            if simple.name.startswith("naive Bayes"):
                print(f"| {name} | scikit-learn {simple.name} (simple model) | — | {simple.seconds:.1f} s | "
                      f"{simple.val_score:.2%} | {simple.test_score:.2%} | — |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Would averaging a finished text run's deep model with a simple text model beat both? A probe, not a feature.

Takes a finished `automl run` on a text benchmark (e.g. /tmp/automl-bench-runs/sst2), remakes its split
through automl's own ingest (the benchmark pipeline's seeded split), fits the simple text models automl fits
beside its search (automl/search/simple.py) on train, and mixes their class probabilities with the run's
exported model's: p = w · deep + (1 − w) · simple, with w chosen on the validation split alone (0 to 1 in
steps of 0.1) and, for reference, w = 0.5. Test is only ever scored.

    python benchmarks/run_benchmarks.py --datasets sst2 --no-write
    python benchmarks/text_ensemble_probe.py --run /tmp/automl-bench-runs/sst2 [--dataset sst2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import run_benchmarks as bench  # same folder: the dataset table

WEIGHTS = np.round(np.arange(0, 1.01, 0.1), 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished run directory on the same data")
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--data-dir", type=Path, default=bench.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    import tensorflow as tf

    from automl.config import load_config
    from automl.pipeline import plan_run
    from automl.search.simple import fit_simple_models, split_texts

    dataset, profile, _ = plan_run(load_config("benchmark", data=str(args.data_dir / bench.BENCHMARKS[args.dataset].data)))
    model = tf.saved_model.load(str(args.run / "model"))
    texts = {name: split_texts(getattr(dataset, name)) for name in ("val", "test")}
    labels = {name: getattr(dataset, name).labels for name in ("val", "test")}

    def deep(split):
        batches = [model.serve(tf.constant(texts[split][i:i + 256]))["probabilities"].numpy()
                   for i in range(0, len(texts[split]), 256)]
        return np.concatenate(batches)

    deep_probabilities = {split: deep(split) for split in texts}
    accuracy = {split: float((deep_probabilities[split].argmax(1) == labels[split]).mean()) for split in texts}
    print(f"deep model of {args.run}: validation {accuracy['val']:.2%}, test {accuracy['test']:.2%}")
    print("| simple model | simple val / test | w chosen on val | mix val / test at w | mix test at w = 0.5 |")
    print("| --- | --- | --- | --- | --- |")
    for simple in fit_simple_models(dataset, profile).models:
        fitted = simple.fitted.model
        probabilities = {split: fitted.predict_proba(texts[split]) for split in texts}

        def mixed(split, w):
            return float(((w * deep_probabilities[split] + (1 - w) * probabilities[split]).argmax(1)
                          == labels[split]).mean())

        best = max(WEIGHTS, key=lambda w: (mixed("val", w), -abs(w - 0.5)))  # ties: the weight nearest an even mix
        print(f"| {simple.name} | {simple.val_score:.2%} / {simple.test_score:.2%} | {best:.1f} | "
              f"{mixed('val', best):.2%} / {mixed('test', best):.2%} | {mixed('test', 0.5):.2%} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

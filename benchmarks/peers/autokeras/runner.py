"""Run AutoKeras 3.0.0 on one fixed train/val/test split under a wall-clock budget; write a JSON result.

Runs inside benchmarks/peers/autokeras/.venv (made by install.sh), never in automl's venv. AutoKeras has
no time budget, so a callback stops training at the deadline and caps the oracle's trial count (no new
trial starts), and an explicit EarlyStopping keeps AutoKeras from its final refit on train + val. The
best trial's checkpoint (AutoKeras's own choice, by its objective) is then scored on the test split.

    .venv/bin/python runner.py SPLIT.npz --task image|table|text --budget SECONDS --output RESULT.json

SPLIT.npz holds x_train, y_train, x_val, y_val, x_test, y_test (integer labels); texts come packed as
x_train_utf8 (all texts' UTF-8 bytes) and x_train_ends (where each ends), and so on.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()  # the budget counts from the process start, imports included, as automl's does

import argparse
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

TASKS = ("image", "table", "text")
# AutoKeras's own default is 100 trials; the deadline, not this, is what ends a benchmark search.
MAX_TRIALS = 100
# Epochs without a better val_loss before a trial stops: the value PEERS.md measured AutoKeras with.
PATIENCE = 3
# Most epochs one trial may train (AutoKeras's own default when none is given is 1000 with early stopping).
MAX_EPOCHS = 1000


def load_split(path: Path) -> dict[str, np.ndarray]:
    """The split's arrays; texts packed as KEY_utf8 + KEY_ends (side_by_side.pack_texts) become KEY, an
    array of UTF-8 bytes (AutoKeras takes str or bytes arrays, not object ones; bytes are a quarter the
    size of NumPy's fixed-width str, which pads every review to the longest)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    for key in [key[:-len("_ends")] for key in arrays if key.endswith("_ends")]:
        data, ends = arrays.pop(f"{key}_utf8").tobytes(), arrays.pop(f"{key}_ends")
        starts = np.concatenate([[0], ends[:-1]])
        arrays[key] = np.array([data[start:end] for start, end in zip(starts, ends)], dtype=np.bytes_)
    return arrays


def make_classifier(task: str, workdir: Path, seed: int, max_trials: int):
    """AutoKeras's task classifier with its default tuner and objective."""
    import autokeras as ak

    common = dict(max_trials=max_trials, directory=str(workdir), overwrite=True, seed=seed)
    if task == "image":
        return ak.ImageClassifier(project_name="image_classifier", **common)
    if task == "table":
        return ak.StructuredDataClassifier(project_name="structured_data_classifier", **common)
    return ak.TextClassifier(project_name="text_classifier", **common)


def make_callbacks(auto_model, deadline: float):
    """The deadline stop and the per-epoch recorder (shared across trials: AutoKeras and Keras Tuner
    deep-copy callbacks per trial, so both return themselves from __deepcopy__)."""
    import keras

    class Shared(keras.callbacks.Callback):
        def __deepcopy__(self, memo):
            return self

    class DeadlineStop(Shared):
        """Stops training at the deadline (checked every batch) and caps the oracle's trial count."""

        fired = False

        def _check(self):
            if time.monotonic() >= deadline:
                if not self.fired:
                    print(f"runner: deadline reached at {time.monotonic() - STARTED:.1f} s; stopping", flush=True)
                self.fired = True
                self.model.stop_training = True
                oracle = auto_model.tuner.oracle
                oracle.max_trials = len(oracle.trials)

        def on_train_begin(self, logs=None):  # a trial built just before the deadline trains no further
            self._check()

        def on_train_batch_end(self, batch, logs=None):
            self._check()

    class EpochLog(Shared):
        """Per trial: its training seconds and, per epoch, the metrics and the seconds since the start."""

        def __init__(self):
            super().__init__()
            self.trials: dict[str, dict] = {}
            self._current, self._began = None, 0.0

        def on_train_begin(self, logs=None):
            trial = next(iter(auto_model.tuner.oracle.ongoing_trials.values()), None)
            self._current = trial.trial_id if trial else str(len(self.trials))
            self._began = time.monotonic()
            self.trials.setdefault(self._current, {"seconds": 0.0, "epochs": []})

        def on_epoch_begin(self, epoch, logs=None):
            self._batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self._batches += 1

        def on_epoch_end(self, epoch, logs=None):
            record = {key: float(value) for key, value in (logs or {}).items()}
            record["batches"] = self._batches
            record["trial_seconds"] = time.monotonic() - self._began
            record["elapsed"] = time.monotonic() - STARTED
            self.trials[self._current]["epochs"].append(record)

        def on_train_end(self, logs=None):
            self.trials[self._current]["seconds"] += time.monotonic() - self._began

    # min_delta as in the EarlyStopping AutoKeras inserts itself when given none
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, min_delta=1e-4)
    return DeadlineStop(), EpochLog(), early


def best_predictor(auto_model):
    """A function giving the labels the best trial's checkpoint predicts, through that trial's pipeline.

    The same model AutoKeras's own predict() uses when no final refit ran; read from the trial
    directory so it also works when the search ended in an error after some trials finished.
    """
    from autokeras import pipeline as pipeline_module
    from autokeras.utils import utils

    tuner = auto_model.tuner
    best_trial = tuner.oracle.get_best_trials(1)[0]
    pipeline = pipeline_module.load_pipeline(tuner._pipeline_path(best_trial.trial_id))
    model = tuner.get_best_models(1)[0]

    def predict(x: np.ndarray) -> np.ndarray:
        data = pipeline.transform_x(auto_model._adapt(x, auto_model.inputs))
        outputs = utils.predict_with_adaptive_batch_size(model=model, batch_size=32, x=data, verbose=0)
        return np.asarray(pipeline.postprocess(outputs)).reshape(len(x), -1)[:, 0]

    return predict


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """AutoKeras decodes predictions to the label values it was fitted on, as floats (1.0 for label 1)
    or strings, so they are compared as numbers where they are numbers."""
    try:
        return float(np.mean(predicted.astype(np.float64) == labels.astype(np.float64)))
    except ValueError:
        return float(np.mean(predicted.astype(str) == labels.astype(str)))


def finished_trials(auto_model) -> int:
    from keras_tuner.engine import trial as trial_module

    return sum(t.status == trial_module.TrialStatus.COMPLETED for t in auto_model.tuner.oracle.trials.values())


def run(args) -> dict:
    """Searches until the deadline and scores the best trial; a search error after at least one trial
    is recorded and the best trial still scored."""
    import keras

    keras.utils.set_random_seed(args.seed)
    split = load_split(args.split)
    deadline = STARTED + args.budget
    workdir = Path(tempfile.mkdtemp(prefix="autokeras-", dir=args.workdir))
    auto_model = make_classifier(args.task, workdir, args.seed, args.max_trials)
    stopper, epoch_log, early = make_callbacks(auto_model, deadline)
    error = None
    try:
        auto_model.fit(split["x_train"], split["y_train"], validation_data=(split["x_val"], split["y_val"]),
                       epochs=args.max_epochs, callbacks=[early, stopper, epoch_log], verbose=args.verbose)
    except Exception as exception:  # noqa: BLE001 — a failing peer is a result to report, not a crash
        error = f"{type(exception).__name__}: {exception}".splitlines()[0][:500]
        traceback.print_exc()
    try:
        return score(args, auto_model, split, stopper, epoch_log, error)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def score(args, auto_model, split, stopper, epoch_log, error: str | None) -> dict:
    """The result: search facts, per-trial epochs and the best trial's validation and test accuracy."""
    search_seconds = time.monotonic() - STARTED
    result = {"tool": "autokeras", "task": args.task, "budget_s": args.budget, "error": error,
              "search_seconds": round(search_seconds, 2), "deadline_fired": stopper.fired,
              "trials_started": len(auto_model.tuner.oracle.trials) if hasattr(auto_model, "tuner") else 0,
              "trials": epoch_log.trials}
    if not epoch_log.trials or not any(t["epochs"] for t in epoch_log.trials.values()):
        result.update(test_accuracy=None, val_accuracy=None, trials_finished=0)
        return result
    best, predict = auto_model.tuner.oracle.get_best_trials(1)[0], best_predictor(auto_model)
    result.update(
        trials_finished=finished_trials(auto_model), best_trial_id=best.trial_id,
        objective=auto_model.tuner.oracle.objective.name,
        val_accuracy=accuracy(predict(split["x_val"]), split["y_val"]),
        test_accuracy=accuracy(predict(split["x_test"]), split["y_test"]))
    return result


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("split", type=Path, help=".npz with x_train, y_train, x_val, y_val, x_test, y_test")
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--budget", type=float, required=True, help="wall-clock seconds, counted from start-up")
    parser.add_argument("--output", type=Path, required=True, help="JSON file to write the result to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-trials", type=int, default=MAX_TRIALS)
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS)
    parser.add_argument("--workdir", type=Path, default=None, help="where AutoKeras keeps its trials (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep AutoKeras's trial directory")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1 or 2)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    result["wall_seconds"] = round(time.monotonic() - STARTED, 2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"autokeras: test accuracy {result['test_accuracy']}, val accuracy {result['val_accuracy']}, "
          f"{result['trials_finished']} trial(s) finished, {result['wall_seconds']:.0f} s"
          + (f", error: {result['error']}" if result["error"] else ""), flush=True)
    return 0 if result["test_accuracy"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())

"""A trial that runs out of accelerator memory is retried with half the batch, never a crashed run.

TensorFlow raises ResourceExhaustedError when a batch's activations do not fit in a GPU's memory. The
model and its weights are unharmed, so the same fit is started again on the same data re-batched at half
the size (tf.data's `rebatch` splits the batches already made), down to one example a batch. Each halving
is written to RUN_DIR/search/batch_halvings/TRIAL.json (one file a trial, so workers sharing the run
directory never write the same file), and the report lists them.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import tensorflow as tf

from automl.files import write_text_atomic

HALVINGS_DIR = "batch_halvings"


def fit_halving_batch(fit, batch_size: int, args: tuple, kwargs: dict, record=None):
    """Calls fit(*args, **kwargs); on ResourceExhaustedError halves the batch of the training data (and of
    a tf.data validation set) and calls it again.

    Args:
        fit: The training call (model.fit or a wrapper of it).
        batch_size: The batch size the datasets are batched at now.
        record: Called with (old batch size, new batch size, the error's first line) on each halving.

    Raises:
        tf.errors.ResourceExhaustedError: Even one example a batch does not fit.
    """
    while True:
        try:
            return fit(*args, **kwargs)
        except tf.errors.ResourceExhaustedError as error:
            if batch_size <= 1 or not args or not isinstance(args[0], tf.data.Dataset):
                raise
            smaller = batch_size // 2
            if record is not None:
                record(batch_size, smaller, (str(error).strip().splitlines() or [type(error).__name__])[0])
            args = (args[0].rebatch(smaller), *args[1:])
            validation = kwargs.get("validation_data")
            if isinstance(validation, tf.data.Dataset):
                kwargs = {**kwargs, "validation_data": validation.rebatch(smaller)}
            batch_size = smaller
            gc.collect()  # the failed step's tensors are garbage now; free them before the retry


def halving_recorder(search_dir: Path, trial_id: str):
    """A `record` for fit_halving_batch that appends to RUN_DIR/search/batch_halvings/TRIAL.json."""
    def record(old: int, new: int, reason: str) -> None:
        path = Path(search_dir) / HALVINGS_DIR / f"{trial_id}.json"
        halvings = json.loads(path.read_text()) if path.exists() else []
        halvings.append({"trial_id": trial_id, "from": old, "to": new, "error": reason[:200], "at": time.time()})
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(halvings, indent=1))
    return record


def halving_notes(search_dir: Path) -> tuple[str, ...]:
    """One sentence per halving recorded in a run's search folder, for the report."""
    halvings = []
    for path in sorted((Path(search_dir) / HALVINGS_DIR).glob("*.json")):
        try:
            halvings.extend(json.loads(path.read_text()))
        except ValueError:  # a file cut by a kill: its halvings are lost from the report, nothing else
            continue
    return tuple(f"Trial {h['trial_id']} ran out of memory at batch size {h['from']} ({h['error']}); it was "
                 f"retried at {h['to']}." for h in halvings)

"""`automl predict`: a finished run's SavedModel applied to new raw files or table rows → a CSV.

New files are read by the run's modality object (images, texts, table rows, series; a forecast reads a
whole table), so they go through the same readers as the training data did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from automl.errors import DataError
from automl.modalities import modality_of


def _load(run_dir: Path):
    meta_path = run_dir / "model" / "metadata.json"
    if not meta_path.exists():
        raise DataError(f"'{run_dir}' has no exported model (model/metadata.json). "
                        "Give the run directory of a finished `automl run`.")
    return tf.saved_model.load(str(run_dir / "model")), json.loads(meta_path.read_text())


def predict_to_csv(run_dir: Path, source: Path, output: Path | None) -> tuple[Path, int]:
    """Predicts every example in source (a file or folder, as the run's modality reads it) and writes a CSV.

    Returns:
        The CSV path and the number of predictions (rows).

    Raises:
        DataError: No finished run in run_dir, or source is not something its model reads.
    """
    model, meta = _load(run_dir)
    modality = modality_of(meta)
    if not source.exists():
        raise DataError(f"No such file or folder: '{source}'. Give {modality.accepts}.")
    output = output or run_dir / "predictions.csv"
    written = modality.predict_table(model, meta, source, output)
    if written is not None:  # a forecast: the steps after the table's end, not one prediction a row
        return written
    batches, frame = modality.predict_inputs(source, meta)
    outputs = [model.serve(batch) for batch in batches]
    if "probabilities" in meta["outputs"]:
        probabilities = np.concatenate([o["probabilities"].numpy() for o in outputs])
        frame["predicted_class"] = [meta["class_names"][i] for i in probabilities.argmax(axis=1)]
        for i, name in enumerate(meta["class_names"]):
            frame[f"probability_{name}"] = probabilities[:, i]
    else:
        frame["prediction"] = np.concatenate([o["prediction"].numpy() for o in outputs])
    frame.to_csv(output, index=False)
    return output, len(frame)

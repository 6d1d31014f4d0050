"""Diagnose stage, inputs: the final model's outputs for every split."""

from __future__ import annotations

import numpy as np

from automl.modalities.batching import batched


def predict_splits(model, dataset, profile, batch_size: int) -> dict[str, np.ndarray]:
    """Model outputs (probabilities or predictions) for train, val and test, in split order."""
    return {name: model.predict(batched(split, profile, batch_size, None), verbose=0)
            for name, split in dataset.splits().items()}

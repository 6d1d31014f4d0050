"""Model outputs per split, for diagnosis and the export parity check."""

from __future__ import annotations

import numpy as np

from automl.search import batched


def predict_splits(model, dataset, profile, batch_size: int) -> dict[str, np.ndarray]:
    """Model outputs (probabilities or predictions) for train, val and test, in split order."""
    return {name: model.predict(batched(split, profile, batch_size, None), verbose=0)
            for name, split in dataset.splits().items()}


def sample_inputs(dataset, profile, count: int):
    """A batch of raw test inputs, as the model takes them."""
    inputs, _ = next(iter(batched(dataset.test, profile, count, None)))
    return inputs

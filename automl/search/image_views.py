"""Test-time augmentation for images, as a leaderboard candidate: the best trial's probabilities averaged over
the image and its mirror (when the trial trained on mirror images), else over the image shifted one pixel
each way.

A network trained for a few epochs is not yet invariant to what its augmentation taught it: on Fashion-MNIST
after 200 s of training (2 cores), averaging with the mirror image lifted test accuracy from 92.86 % to
93.16 % (adding the shifts too: 93.29 %, at 5 times the cost); for a model trained without mirror images,
the mirror cost 0.4 point and the 4 one-pixel shifts gave 92.09 → 92.61 % (airbench, K. Jordan 2024).
Whether it pays is the leaderboard's call, on validation like every other row. The views are plain Keras
ops inside one model, so the export, predict and serve take raw images as before; a prediction costs one
pass per view.
"""

from __future__ import annotations

import time

import keras
import numpy as np
from keras import ops

from automl.search.leaderboard import Candidate

# One-pixel shifts (rows, columns), zero-filled: the identity plus the four neighbours.
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def _shifted(images, rows: int, columns: int):
    """The images moved by (rows, columns) pixels, the uncovered edge filled with zeros; any size."""
    if rows:
        padded = ops.pad(images, [[0, 0], [max(rows, 0), max(-rows, 0)], [0, 0], [0, 0]])
        images = padded[:, :-1] if rows > 0 else padded[:, 1:]
    if columns:
        padded = ops.pad(images, [[0, 0], [0, 0], [max(columns, 0), max(-columns, 0)], [0, 0]])
        images = padded[:, :, :-1] if columns > 0 else padded[:, :, 1:]
    return images


def view_count(mirror: bool) -> int:
    return 2 if mirror else len(SHIFTS)


def with_views(model: keras.Model, mirror: bool) -> keras.Model:
    """model's probabilities averaged over the image and its mirror (mirror), else over SHIFTS of the image."""
    spec = model.inputs[0]
    images = keras.Input(shape=spec.shape[1:], dtype=spec.dtype, name=spec.name)
    if mirror:
        views = [images, ops.flip(images, axis=2)]
    else:
        views = [_shifted(images, rows, columns) for rows, columns in SHIFTS]
    outputs = [model(view) for view in views]
    return keras.Model(images, keras.layers.Average(name="test_time_average")(outputs), name=f"{model.name}_views")


def views_candidate(trial: Candidate, val, mirror: bool) -> Candidate:
    """The trial's row with test-time views, scored on the same validation data (a tf.data of (images, labels))."""
    start = time.perf_counter()
    model = with_views(trial.model, mirror)
    outputs = model.predict(val, verbose=0)
    views = "the mirror image" if mirror else f"{len(SHIFTS) - 1} one-pixel shifts"
    return Candidate(f"{trial.name}, averaged with {views}", "trial",
                     model, np.asarray(outputs), trial.seconds + time.perf_counter() - start, trial.params)

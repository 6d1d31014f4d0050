"""Shared plumbing: one split batched for a model (its input columns selected, cached, shuffled for
training). Search, diagnosis and export all feed models this way."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from automl.modalities import modality_of, task_named

# Datasets under this size are cached decoded in memory; larger ones in a file in the run directory.
MEMORY_CACHE_BYTES = 2 * 1024**3
SHUFFLE_BUFFER = 10_000


def _select_inputs(profile):
    keys = modality_of(profile).input_keys(profile)
    return (lambda x, y: ({k: x[k] for k in keys}, y)) if keys else None


def batched(split, profile, batch_size: int, cache_dir: Path | None, seed: int | None = None) -> tf.data.Dataset:
    """Batches a split for training (shuffled when seed is given) with the model's input columns."""
    data = split.data
    select = _select_inputs(profile)
    if select:
        data = data.map(select)
    if not task_named(profile.task).trains_on_labels:  # anomaly: labels score the model, never train it
        data = data.map(lambda x, y: (x, tf.zeros([1])))
    if cache_dir is not None:
        shape = profile.image_inputs
        approx = split.size * (shape.height * shape.width * shape.channels if shape else 64)
        cache_dir.mkdir(parents=True, exist_ok=True)
        data = data.cache() if approx < MEMORY_CACHE_BYTES else data.cache(str(cache_dir / "cache"))
    if seed is not None:
        data = data.shuffle(min(split.size, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def sample_inputs(dataset, profile, count: int):
    """A batch of raw test inputs, as the model takes them (for parity checks and latency)."""
    inputs, _ = next(iter(batched(dataset.test, profile, count, None)))
    return inputs

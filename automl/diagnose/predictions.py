"""Diagnose stage, inputs: the final model's outputs for every split."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from automl.modalities.batching import batched


def _predict_each(model, splits, profile, batch_size: int) -> dict[str, np.ndarray]:
    return {name: model.predict(batched(split, profile, batch_size, None), verbose=0) for name, split in splits.items()}


def predict_splits(model, dataset, profile, batch_size: int) -> dict[str, np.ndarray]:
    """Model outputs (probabilities or predictions) for train, val and test, in split order.

    The splits are predicted as one stream, then cut back by their sizes: each distinct batch shape traces
    the model's predict step again, and every split's last, partial batch would be one more shape. On a
    wide table's model (one input and one preprocessing layer per column) a trace costs seconds
    (300 columns: 3 s; 1,000: 9 s on 2 CPU cores), paid after the search, against the time budget.
    """
    splits = dataset.splits()
    names = list(splits)
    try:
        joined = splits[names[0]].data
        for name in names[1:]:
            joined = joined.concatenate(splits[name].data)
    except (TypeError, ValueError):  # element types that do not concatenate: one stream per split
        return _predict_each(model, splits, profile, batch_size)
    stream = dataclasses.replace(splits[names[0]], data=joined,
                                 labels=np.concatenate([splits[name].labels for name in names]))
    outputs = model.predict(batched(stream, profile, batch_size, None), verbose=0)
    sizes = [splits[name].size for name in names]
    if not isinstance(outputs, np.ndarray) or len(outputs) != sum(sizes):  # sizes that do not match the streams
        return _predict_each(model, splits, profile, batch_size)
    return dict(zip(names, np.split(outputs, np.cumsum(sizes)[:-1])))


def sampled_train(dataset, limit: int, seed: int = 0):
    """The dataset with its training split cut to a seeded random `limit` of its examples (in their order),
    and the sentence saying so ("" and the dataset itself when train holds no more)."""
    train = dataset.train
    if train.size <= limit:
        return dataset, ""
    keep = np.sort(np.random.default_rng(seed).choice(train.size, limit, replace=False))
    mask = np.zeros(train.size, dtype=bool)
    mask[keep] = True
    kept = tf.constant(mask)
    data = train.data.enumerate().filter(lambda index, example: tf.gather(kept, index)).map(
        lambda index, example: example)
    sample = dataclasses.replace(train, data=data, labels=train.labels[keep],
                                 hashes=tuple(train.hashes[i] for i in keep) if len(train.hashes) == train.size
                                 else train.hashes)
    return dataclasses.replace(dataset, train=sample), (
        f" Train figures are on a seeded random {limit:,} of the {train.size:,} training examples.")

"""What every autoencoder family (anomaly detection) shares: the model's output is each example's own
reconstruction error, so the SavedModel scores raw inputs with no separate target to feed, and training
drives that output towards zero (the task's MAE against the zero targets batching gives it)."""

from __future__ import annotations

import keras
from keras import layers, ops

from automl.families.common import compile_model


def reconstruction_error(target, reconstruction, mask=None):
    """Mean squared error per example over every axis but the batch, as [batch, 1] float32 named
    anomaly_score. The target is the model's own normalised input, held constant (no gradient): a learnt
    target (an embedding) would otherwise collapse to whatever is easiest to reconstruct.

    Args:
        mask: [batch, steps] booleans of the positions that count (series padding left out), or None.
    """
    target = ops.stop_gradient(ops.cast(target, "float32"))
    squared = ops.square(ops.subtract(ops.cast(reconstruction, "float32"), target))
    if mask is None:
        return layers.Reshape((1,), name="anomaly_score", dtype="float32")(
            ops.mean(layers.Flatten(dtype="float32")(squared), axis=1))
    weights = ops.cast(ops.expand_dims(mask, -1), "float32")  # [batch, steps, 1]
    total = ops.sum(ops.multiply(squared, weights), axis=(1, 2))
    counted = ops.maximum(ops.sum(weights, axis=(1, 2)) * ops.cast(ops.shape(squared)[-1], "float32"), 1.0)
    return layers.Reshape((1,), name="anomaly_score", dtype="float32")(ops.divide(total, counted))


def bottleneck_settings(hp) -> tuple[int, float]:
    """The searched bottleneck width (how much the autoencoder must compress: too wide and it copies anomalies
    too) and dropout; every autoencoder family shares them."""
    return (hp.Choice("bottleneck", [8, 4, 16, 32], default=8),
            hp.Choice("dropout", [0.0, 0.1, 0.3], default=0.0))


def compile_autoencoder(inputs, score, hp, profile, name: str) -> keras.Model:
    """The model from raw inputs to anomaly_score, compiled with the task's loss and a searched learning rate."""
    return compile_model(keras.Model(inputs, score, name=name), hp, profile)

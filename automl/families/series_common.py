"""The input every series family (classification and forecasting) starts from: raw float32 series
[batch, length, channels] in, with NaN for padding and missing values, normalised inside the model."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


def series_input(profile):
    """The raw series Input, its normalised values and a mask of the time steps that hold a value.

    NaN (padding of shorter series, or a missing value) is filled with the channel's training mean
    before normalising, so it becomes 0 — "no information" — instead of poisoning the sums. Steps
    where every channel is NaN are padding: the returned mask is False there, for masked pooling,
    recurrent layers and attention.

    Returns:
        (inputs, x, mask): the keras.Input named "series", float32 [batch, length, channels] features,
        and a boolean [batch, length] mask.
    """
    spec = profile.series_inputs
    inputs = keras.Input(shape=(spec.length, spec.channels), dtype="float32", name="series")
    present = ops.isfinite(inputs)
    mask = ops.any(present, axis=-1)
    filled = ops.where(present, inputs, np.asarray(spec.mean, dtype="float32"))
    x = layers.Normalization(axis=-1, mean=list(spec.mean), variance=[s * s for s in spec.std], name="normalise")(filled)
    return inputs, x, mask


def masked_average(x, mask):
    """Average over the time steps that hold a value (padding left out)."""
    return layers.GlobalAveragePooling1D(name="average_over_time")(x, mask=mask)

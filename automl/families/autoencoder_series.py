"""1-D convolutional autoencoder for series (anomaly detection): raw series in (NaN padding), filled and
normalised inside as every series family does; strided convolutions down to a dense bottleneck and back;
the output is the reconstruction error over the steps that hold a value."""

from __future__ import annotations

import keras
from keras import layers

from automl.families.autoencoder_common import bottleneck_settings, compile_autoencoder, reconstruction_error
from automl.families.series_common import series_input

KERNEL = 5


def build_model(hp, profile) -> keras.Model:
    """Normalised series → (strided Conv1D) × depth → dense bottleneck → mirror → cropped to the length."""
    spec = profile.series_inputs
    inputs, target, mask = series_input(profile)
    bottleneck, dropout = bottleneck_settings(hp)
    filters, depth = hp.Choice("filters", [16, 32, 8], default=16), hp.Int("blocks", 1, 3, default=2)
    x = target
    for block in range(depth):
        x = layers.Conv1D(filters * 2**block, KERNEL, strides=2, padding="same", activation="relu")(x)
    inner, width = x.shape[1], filters * 2 ** (depth - 1)
    x = layers.Dropout(dropout)(layers.Flatten()(x))
    x = layers.Dense(bottleneck, activation="relu", name="bottleneck")(x)
    x = layers.Reshape((inner, width))(layers.Dense(inner * width, activation="relu")(x))
    for block in reversed(range(depth)):
        x = layers.Conv1DTranspose(filters * 2**block, KERNEL, strides=2, padding="same", activation="relu")(x)
    x = layers.Cropping1D((0, inner * 2**depth - spec.length))(x)  # the strides rounded the length up
    reconstruction = layers.Conv1D(spec.channels, 1, name="reconstruction", dtype="float32")(x)
    return compile_autoencoder(inputs, reconstruction_error(target, reconstruction, mask), hp, profile,
                               "autoencoder_series")

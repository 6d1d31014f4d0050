"""Convolutional autoencoder for images (anomaly detection): uint8 pixels of any size in, resized and scaled
inside; strided convolutions down to a dense bottleneck, transposed convolutions back; the output is the
pixels' reconstruction error."""

from __future__ import annotations

import keras
from keras import layers

from automl.families.autoencoder_common import bottleneck_settings, compile_autoencoder, reconstruction_error

# Images are reconstructed at this side (or INTERNAL_SIDE_LARGE for larger ones): a multiple of 2 ** the
# deepest encoder, small enough for a CPU; detail finer than that is not what an anomaly score needs.
INTERNAL_SIDE = 32
INTERNAL_SIDE_LARGE = 64
LARGE_FROM = 48


def build_model(hp, profile) -> keras.Model:
    """Resize → scale to 0-1 → (strided conv) × depth → dense bottleneck → mirror → sigmoid pixels."""
    spec = profile.image_inputs
    side = INTERNAL_SIDE_LARGE if max(spec.height, spec.width) >= LARGE_FROM else INTERNAL_SIDE
    inputs = keras.Input(shape=(None, None, spec.channels), dtype="uint8", name="image")
    target = layers.Rescaling(1.0 / 255, name="scale")(layers.Resizing(side, side, name="resize")(inputs))
    bottleneck, dropout = bottleneck_settings(hp)
    filters, depth = hp.Choice("filters", [16, 32, 8], default=16), hp.Int("blocks", 2, 3, default=2)
    x = target
    for block in range(depth):
        x = layers.Conv2D(filters * 2**block, 3, strides=2, padding="same", activation="relu")(x)
    inner = side // 2**depth
    x = layers.Dropout(dropout)(layers.Flatten()(x))
    x = layers.Dense(bottleneck * 4, activation="relu", name="bottleneck")(x)
    x = layers.Dense(inner * inner * filters * 2 ** (depth - 1), activation="relu")(x)
    x = layers.Reshape((inner, inner, filters * 2 ** (depth - 1)))(x)
    for block in reversed(range(depth)):
        x = layers.Conv2DTranspose(filters * 2**block, 3, strides=2, padding="same", activation="relu")(x)
    reconstruction = layers.Conv2D(spec.channels, 3, padding="same", activation="sigmoid", name="reconstruction",
                                   dtype="float32")(x)
    return compile_autoencoder(inputs, reconstruction_error(target, reconstruction), hp, profile, "autoencoder_image")

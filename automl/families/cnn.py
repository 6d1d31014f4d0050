"""CNN family: a convolutional network trained from scratch for images (uint8 pixels of any size in)."""

from __future__ import annotations

import keras
from keras import layers

from automl.families.common import compile_model, output_head

# Tiny images (8×8 digits) are upsampled so three pooling stages still see spatial structure.
MIN_INTERNAL_SIDE = 24
# Keras' default 0.99 needs hundreds of steps before the moving statistics fit; small datasets
# (20 steps an epoch) then validate with wrong statistics and early stopping quits too soon.
BN_MOMENTUM = 0.9
# Augmentation regularises small datasets; on large ones it mostly slows convergence, which a CPU
# budget of a few epochs cannot afford. The search can still switch it either way.
AUGMENT_BELOW_TRAIN_SIZE = 20_000


# A CNN trained from scratch on a CPU gains little above this side and pays quadratically for it.
MAX_INTERNAL_SIDE = 128


def _internal_size(inputs) -> tuple[int, int]:
    height, width = inputs.height, inputs.width
    if max(height, width) > MAX_INTERNAL_SIDE:
        scale = MAX_INTERNAL_SIDE / max(height, width)
        return max(8, round(height * scale)), max(8, round(width * scale))
    factor = max(1, -(-MIN_INTERNAL_SIDE // max(height, width)))
    return height * factor, width * factor


def _augmentation(x, hp, train_size: int):
    """Small shifts and zooms (and flips, if chosen) in training only."""
    if not hp.Boolean("augment", default=train_size < AUGMENT_BELOW_TRAIN_SIZE):
        return x
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(x)
    x = layers.RandomZoom(0.1, fill_mode="constant")(x)
    if hp.Boolean("flip", default=False):
        x = layers.RandomFlip("horizontal")(x)
    return x


def build_model(hp, profile) -> keras.Model:
    """Blocks of (conv-BN-ReLU ×2, max-pool), global pooling, a dense layer and the head."""
    inputs_spec = profile.image_inputs
    inputs = keras.Input(shape=(None, None, inputs_spec.channels), dtype="uint8", name="image")
    x = layers.Resizing(*_internal_size(inputs_spec), crop_to_aspect_ratio=inputs_spec.crop, name="resize")(inputs)
    x = layers.Rescaling(1.0 / 255, name="scale")(x)
    x = _augmentation(x, hp, profile.split_sizes["train"])
    filters = hp.Choice("filters", [32, 16, 64], default=32)
    for block in range(hp.Int("blocks", 2, 4, default=3)):
        for _ in range(2):
            x = layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(hp.Choice("dropout", [0.3, 0.0, 0.5], default=0.3))(x)
    x = layers.Dense(hp.Choice("dense_units", [128, 64, 256], default=128), activation="relu")(x)
    return compile_model(keras.Model(inputs, output_head(x, profile), name="cnn"), hp, profile)

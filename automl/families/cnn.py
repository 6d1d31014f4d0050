"""CNN family: a convolutional network trained from scratch for images (uint8 pixels of any size in).

Its default is a few-epoch recipe after airbench (K. Jordan, 2024): a first 2×2 convolution that starts as
the whitening transform of the training patches, then blocks that pool right after their first convolution
(so the second runs at half the resolution, for half the cost), BatchNorm and GELU, and global max pooling
into the head. The learning rate anneals to the wall-clock deadline (search.callbacks.AnnealToBudget), so
a model stopped by the budget has finished its schedule. On Fashion-MNIST at 2 CPU cores it reached 92.9 %
test accuracy after 200 s of training (7 epochs), where the earlier conv-conv-pool network got 3 epochs.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from automl.families.common import compile_for_task, output_head

# Tiny images (8×8 digits) are upsampled so three pooling stages still see spatial structure.
MIN_INTERNAL_SIDE = 24
# Keras' default 0.99 needs hundreds of steps before the moving statistics fit; small datasets
# (20 steps an epoch) then validate with wrong statistics and early stopping quits too soon.
BN_MOMENTUM = 0.9
# Shifts and zooms regularise small datasets; on large ones they mostly slow convergence, which a CPU
# budget of a few epochs cannot afford. Mirror images cost nothing and helped even there (Fashion-MNIST,
# 200 s: 92.09 → 92.86 % test) where they keep the class (not digits); the search can switch either.
AUGMENT_BELOW_TRAIN_SIZE = 20_000
# A CNN trained from scratch on a CPU gains little above this side and pays quadratically for it.
MAX_INTERNAL_SIDE = 128
# The first convolution's patches, and how many training images its whitening is computed from.
WHITEN_PATCH = 2
WHITEN_PATCHES = 2_000_000  # about 5,000 Fashion-MNIST images; 16 MB of float32 patches per channel
WHITEN_EPSILON = 5e-4  # added to the patch covariance's eigenvalues, so near-constant directions stay bounded


def _internal_size(inputs) -> tuple[int, int]:
    height, width = inputs.height, inputs.width
    if max(height, width) > MAX_INTERNAL_SIDE:
        scale = MAX_INTERNAL_SIDE / max(height, width)
        return max(8, round(height * scale)), max(8, round(width * scale))
    factor = max(1, -(-MIN_INTERNAL_SIDE // max(height, width)))
    return height * factor, width * factor


def _augmentation(x, hp, profile):
    """Mirror images (by default where they keep their class: profile.images.mirror_keeps_class), and small
    shifts and zooms (if chosen), in training only."""
    train_size = profile.split_sizes["train"]
    if hp.Boolean("flip", default=getattr(profile.image_inputs, "mirror", False)):
        x = layers.RandomFlip("horizontal")(x)
    if hp.Boolean("augment", default=train_size < AUGMENT_BELOW_TRAIN_SIZE):
        x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(x)
        x = layers.RandomZoom(0.1, fill_mode="constant")(x)
    return x


def _block(x, filters: int):
    """conv → pool → BN → GELU → conv → BN → GELU (airbench's block: the second convolution at half size)."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.MaxPooling2D(padding="same")(x)
    for second in (False, True):
        if second:
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.Activation("gelu")(x)
    return x


def build_model(hp, profile) -> keras.Model:
    """Whitening 2×2 convolution, blocks of widths filters × (1, 2, 4, …), global max pooling, an optional dense
    layer and the head."""
    inputs_spec = profile.image_inputs
    channels = inputs_spec.channels
    inputs = keras.Input(shape=(None, None, channels), dtype="uint8", name="image")
    x = layers.Resizing(*_internal_size(inputs_spec), crop_to_aspect_ratio=inputs_spec.crop, name="resize")(inputs)
    x = layers.Rescaling(1.0 / 255, name="scale")(x)
    x = _augmentation(x, hp, profile)
    x = layers.Conv2D(2 * channels * WHITEN_PATCH**2, WHITEN_PATCH, name="whiten")(x)
    x = layers.Activation("gelu")(x)
    filters = hp.Choice("filters", [32, 16, 64], default=32)
    for block in range(hp.Int("blocks", 2, 4, default=3)):
        x = _block(x, filters * 2**block)
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Dropout(hp.Choice("dropout", [0.0, 0.3, 0.5], default=0.0))(x)
    units = hp.Choice("dense_units", [0, 128, 256], default=0)
    if units:
        x = layers.Dense(units, activation="gelu")(x)
    model = keras.Model(inputs, output_head(x, profile), name="cnn")
    return compile_for_task(model, profile, hp.Choice("learning_rate", [2e-3, 1e-3, 4e-3], default=2e-3))


def prepare_training(model: keras.Model, train) -> None:
    """Starts the first convolution as the whitening transform of training patches (airbench): its filters are
    the eigenvectors of the 2×2 patch covariance scaled by 1/√eigenvalue, and their negatives (GELU keeps one
    sign of each). The layer still trains. `train` is a tf.data of (images, labels) batches."""
    try:
        whiten = model.get_layer("whiten")
    except ValueError:  # a model from before the recipe
        return
    pixels = keras.Model(model.inputs, whiten.input)  # resized and scaled; augmentation is off in inference
    images, seen = [], 0
    for x, _ in train:
        images.append(np.asarray(pixels(x, training=False)))
        seen += images[-1].shape[0] * (images[-1].shape[1] - 1) * (images[-1].shape[2] - 1)
        if seen >= WHITEN_PATCHES:
            break
    images = np.concatenate(images)
    patches = np.lib.stride_tricks.sliding_window_view(images, (WHITEN_PATCH, WHITEN_PATCH), axis=(1, 2))
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, WHITEN_PATCH * WHITEN_PATCH * images.shape[-1])
    patches = patches - patches.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(patches.T @ patches / len(patches))
    filters = (eigenvectors / np.sqrt(np.maximum(eigenvalues, 0) + WHITEN_EPSILON)).T
    filters = filters.reshape(-1, WHITEN_PATCH, WHITEN_PATCH, images.shape[-1]).transpose(1, 2, 3, 0)
    kernel = np.concatenate([filters, -filters], axis=-1).astype("float32")
    whiten.set_weights([kernel, np.zeros(kernel.shape[-1], "float32")])

"""Transfer family: a Keras Applications backbone with ImageNet weights, frozen (or with its top
layers fine-tuned), under a small head. Pixels of any size in; resizing and the backbone's own
input scaling happen inside the model.

Weights are only ever read from a file: the standard Keras cache ($KERAS_HOME/models, default
~/.keras/models) or --weights FILE. Nothing is downloaded, so an offline machine never hangs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from automl.errors import ConfigError
from automl.families.common import compile_model, output_head

INPUT_SIDE = 224  # the size the no-top ImageNet weights were trained at
# The sides the backbone may see photos at, largest first: a convolutional backbone's cost grows with the
# pixels, so a budget too short for 224 px may afford 160, 128 or 96 (the sizes Keras publishes MobileNet
# weights for). The same 224 px weights serve every side; the selector picks the largest that fits.
INPUT_SIDES = (224, 160, 128, 96)
# Flipped copies double the feature extraction over the training split; past this size the
# data itself regularises enough.
FLIP_COPIES_BELOW = 20_000


@dataclass(frozen=True)
class Backbone:
    constructor: str          # keras.applications attribute
    weights_file: str         # the file name Keras caches the no-top ImageNet weights under
    scaling: str              # "tf": pixels to [-1, 1] first; "builtin": the model rescales itself
    imagenet_top1: float      # ImageNet top-1 accuracy of the published weights (Keras Applications' table)
    kwargs: dict = field(default_factory=dict)


# Cheapest first. The selector takes the most accurate one on the machine whose feature pass fits the
# budget; with no budget to weigh, the most accurate. Top-1 figures: Keras Applications' table, and the
# MobileNet paper (Howard et al. 2017) for α 0.25 and 0.5.
BACKBONES = {
    "mobilenet_0.25": Backbone("MobileNet", "mobilenet_2_5_224_tf_no_top.h5", "tf", 0.506, {"alpha": 0.25}),
    "mobilenet_0.5": Backbone("MobileNet", "mobilenet_5_0_224_tf_no_top.h5", "tf", 0.637, {"alpha": 0.5}),
    "mobilenet_v3_small": Backbone("MobileNetV3Small", "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
                                   "builtin", 0.681),
    "mobilenet": Backbone("MobileNet", "mobilenet_1_0_224_tf_no_top.h5", "tf", 0.704, {"alpha": 1.0}),
    "mobilenet_v2": Backbone("MobileNetV2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                             "tf", 0.713),
    "mobilenet_v3_large": Backbone("MobileNetV3Large", "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
                                   "builtin", 0.756),
    "efficientnetb0": Backbone("EfficientNetB0", "efficientnetb0_notop.h5", "builtin", 0.771),
    "efficientnetb1": Backbone("EfficientNetB1", "efficientnetb1_notop.h5", "builtin", 0.791),
    "efficientnetb2": Backbone("EfficientNetB2", "efficientnetb2_notop.h5", "builtin", 0.801),
    "efficientnetb3": Backbone("EfficientNetB3", "efficientnetb3_notop.h5", "builtin", 0.816),
    "resnet50v2": Backbone("ResNet50V2", "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", "tf", 0.760),
}


def keras_models_dir() -> Path:
    """Where Keras caches downloaded weights ($KERAS_HOME/models, default ~/.keras/models)."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"


def backbone_for_file(path: Path) -> str | None:
    """The backbone whose weights file has this name, if any."""
    return next((name for name, b in BACKBONES.items() if b.weights_file == Path(path).name), None)


def available_backbones(weights: str | None = None) -> dict[str, Path]:
    """Backbones whose weights are on this machine (a --weights file first), smallest first."""
    found = {}
    if weights and backbone_for_file(Path(weights)):
        found[backbone_for_file(Path(weights))] = Path(weights)
    for name, backbone in BACKBONES.items():
        path = keras_models_dir() / backbone.weights_file
        if name not in found and path.is_file():
            found[name] = path
    return found


RUN_PREFIX = "run:"  # a backbone named "run:DIR" is the model of an earlier automl run in DIR


def run_backbone_name(run_dir: str | Path) -> str:
    return RUN_PREFIX + str(Path(run_dir))


def _backbone(name: str, weights: str, side: int = INPUT_SIDE):
    if not weights or not Path(weights).is_file():
        raise ConfigError(f"No ImageNet weights file for the {name} backbone ({weights or 'none found'}). Put "
                          f"{BACKBONES[name].weights_file} in {keras_models_dir()}, pass --weights FILE, or use --family cnn.")
    spec = BACKBONES[name]
    build = getattr(keras.applications, spec.constructor)
    return build(input_shape=(side, side, 3), include_top=False, weights=weights, **spec.kwargs)


def seconds_per_image(name: str, weights: str, batch: int = 32) -> float:
    """Measured seconds one 224×224 image takes through the backbone on this machine, the way the feature
    pass runs (compiled `predict` in batches; a warm-up batch traces it, a second is timed), so the
    selector can weigh a backbone's feature pass against the budget. Eager calls on 8 images read 0.064 s
    an image for MobileNetV2 where the real pass took 0.038 s."""
    model = _backbone(name, weights)
    images = np.random.default_rng(0).uniform(-1, 1, (batch, INPUT_SIDE, INPUT_SIDE, 3)).astype("float32")
    model.predict(images, batch_size=batch, verbose=0)
    start = time.perf_counter()
    model.predict(images, batch_size=batch, verbose=0)
    return (time.perf_counter() - start) / batch


def features_of_run(model_file: str | Path) -> keras.Model:
    """An earlier automl model cut below its output head: raw images in, its learned features out.

    Raises:
        ConfigError: The file is not a single automl model with a classification/regression head.
    """
    model = keras.saving.load_model(model_file, compile=False)
    head = next((layer for layer in model.layers if layer.name in ("probabilities", "normalised_prediction")), None)
    if head is None:
        raise ConfigError(f"--backbone: {model_file} has no single output head (an ensemble cannot serve as a "
                          "backbone). Use the run directory of a run whose final model is one trial's.")
    return keras.Model(model.inputs, head.input, name="run_backbone")


def image_passes(split_sizes: dict) -> int:
    """Images the transfer search sends through the backbone: train (twice, with its mirror images, below
    FLIP_COPIES_BELOW), validation, and test through the final model."""
    train = split_sizes["train"]
    return train * (2 if train < FLIP_COPIES_BELOW else 1) + split_sizes["val"] + split_sizes["test"]


def backbone_pixels(profile, backbone: str, side: int = INPUT_SIDE, augment: bool = False):
    """Raw uint8 images → (inputs, the pixels the backbone takes): resized to side × side, scaled as it expects."""
    channels = profile.image_inputs.channels
    inputs = keras.Input(shape=(None, None, channels), dtype="uint8", name="image")
    # Raw images of any size get the ingest's framing: a centre square when it cropped, else squashed.
    x = layers.Resizing(side, side, crop_to_aspect_ratio=profile.image_inputs.crop, name="resize")(inputs)
    if channels == 1:
        x = ops.repeat(x, 3, axis=-1)
    if BACKBONES[backbone].scaling == "tf":
        x = layers.Rescaling(1 / 127.5, offset=-1, name="scale")(x)
    if augment:
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomZoom(0.1)(x)
    return inputs, x


def image_features(profile, backbone: str, weights: str, augment: bool = False, side: int = INPUT_SIDE):
    """Raw uint8 images → (inputs, pooled backbone features, the backbone model to fine-tune), the backbone
    seeing side × side pixels."""
    if backbone.startswith(RUN_PREFIX):  # its resizing and scaling are inside it already
        model = features_of_run(weights)
        inputs = keras.Input(shape=(None, None, profile.image_inputs.channels), dtype="uint8", name="image")
        return inputs, model(inputs, training=False), model
    model = _backbone(backbone, weights, side)
    inputs, x = backbone_pixels(profile, backbone, side, augment)
    x = model(x, training=False)  # BatchNorm stays in inference mode, even when fine-tuning
    return inputs, layers.GlobalAveragePooling2D(name="features")(x), model


def head(x, hp, profile):
    """The layers above the backbone's features. Named, so a head trained on cached features can
    be copied onto the backbone layer by layer."""
    x = layers.Dropout(hp.Choice("dropout", [0.2, 0.0, 0.5], default=0.2), name="head_dropout")(x)
    units = hp.Choice("head_units", [0, 256], default=0)
    if units:
        x = layers.Dense(units, activation="relu", name="head_hidden")(x)
    return output_head(x, profile)


def freeze_all_but_top(backbone, fine_tune_layers: int) -> None:
    backbone.trainable = fine_tune_layers > 0
    for layer in backbone.layers[:max(len(backbone.layers) - fine_tune_layers, 0)]:
        layer.trainable = False


def build_model(hp, profile) -> keras.Model:
    """Backbone (frozen but for its last `fine_tune_layers`) → global pooling → head, end to end.

    The search normally trains the head on cached features instead (automl.search.transfer); this
    whole-network model is what `cache_features = false` searches, and what the contract tests.
    """
    available = available_backbones()
    name = hp.Fixed("backbone", next(iter(available), "mobilenet_0.25"))
    weights = hp.Fixed("weights", str(available.get(name, "")))
    side = hp.Fixed("input_side", INPUT_SIDE)
    inputs, x, backbone = image_features(profile, name, weights, augment=hp.Boolean("augment", default=True),
                                         side=side)
    freeze_all_but_top(backbone, hp.Choice("fine_tune_layers", [0, 10, 30], default=0))
    return compile_model(keras.Model(inputs, head(x, hp, profile), name="transfer"), hp, profile)

"""Families: each builds a compiled Keras model from Keras Tuner hyperparameters and a Profile.

FAMILIES is the one list of families (the selector, config validation and the CLI read it) and the
one extension point: a new family is one module with `build_model(hp, profile)`, one entry here, and
it must pass tests/families/test_contract.py. Modules are imported when a family is first built, so
reading the list (for `--help` or config checks) does not load TensorFlow.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """A family's module (under automl.families) and the kind of data it takes.

    Attributes:
        closed_form_head: Its head is a linear model on fixed features, fitted exactly rather than by
            Adam where the features fit in memory (automl.search.warm_start).
        anomaly: An autoencoder that outputs reconstruction errors: it serves anomaly detection, and only it.
    """

    module: str
    modality: str
    closed_form_head: bool = False
    anomaly: bool = False

    def __call__(self, hp, profile):
        """Builds the compiled model: the module's build_model(hp, profile)."""
        return importlib.import_module(f"automl.families.{self.module}").build_model(hp, profile)

    def prepare_training(self, model, train) -> None:
        """The module's prepare_training(model, train), if it has one: set up weights from the training data
        (tf.data of batches) before the first step, e.g. the CNN's whitening convolution."""
        prepare = getattr(importlib.import_module(f"automl.families.{self.module}"), "prepare_training", None)
        if prepare is not None:
            prepare(model, train)


FAMILIES = {
    "cnn": Family("cnn", "image"),
    "transfer": Family("transfer", "image"),
    "mlp": Family("mlp", "table"),
    "ngram": Family("ngram", "text"),
    "rnn": Family("rnn", "text"),
    "transformer": Family("transformer", "text"),
    "text_encoder": Family("text_encoder", "text"),
    "series_cnn": Family("series_cnn", "series"),
    "series_rnn": Family("series_rnn", "series"),
    "series_transformer": Family("series_transformer", "series"),
    "series_rocket": Family("series_rocket", "series", closed_form_head=True),
    "audio_cnn": Family("audio_cnn", "audio"),
    "autoencoder_table": Family("autoencoder_table", "table", anomaly=True),
    "autoencoder_image": Family("autoencoder_image", "image", anomaly=True),
    "autoencoder_series": Family("autoencoder_series", "series", anomaly=True),
}
# Which data each family can take (read from FAMILIES).
MODALITIES = {name: family.modality for name, family in FAMILIES.items()}

"""Shared pieces of every family: the output head and compilation (loss and metrics by task)."""

from __future__ import annotations

import keras
from keras import layers


def output_head(x, profile):
    """Class probabilities (softmax), or one value rescaled to the target's units for regression."""
    if profile.task == "regression":
        x = layers.Dense(1, name="normalised_prediction")(x)
        return layers.Rescaling(scale=profile.target_std, offset=profile.target_mean, name="prediction")(x)
    return layers.Dense(profile.num_classes, activation="softmax", name="probabilities")(x)


def compile_model(model: keras.Model, hp, profile) -> keras.Model:
    """Adam with a tuned learning rate; cross-entropy + accuracy, or MSE + MAE for regression."""
    return compile_for_task(model, profile, hp.Choice("learning_rate", [1e-3, 3e-3, 3e-4], default=1e-3))


def compile_for_task(model: keras.Model, profile, learning_rate: float) -> keras.Model:
    if profile.task == "regression":
        model.compile(keras.optimizers.Adam(learning_rate), loss="mse", metrics=["mae"])
    else:
        model.compile(keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model

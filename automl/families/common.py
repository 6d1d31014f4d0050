"""Shared pieces of every family: the output head and compilation (from the task object), and the
forecast wrapper that starts every forecasting model from the seasonal-naive forecast."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from automl.modalities import task_named


def output_head(x, profile):
    """The task's head: class probabilities (softmax); one value in the target's units (regression); or
    [horizon, targets] changes from the window's last value in the targets' units (forecast). Its layers
    compute in float32 under any dtype policy (mixed precision on a GPU: search.devices), so a model's
    outputs, and its export, stay float32."""
    return task_named(profile.task).output_head(x, profile)


def compile_model(model: keras.Model, hp, profile, learning_rate: float = 1e-3) -> keras.Model:
    """Adam with a tuned learning rate (`learning_rate` its default); cross-entropy + accuracy, or MSE + MAE for
    regression and forecasts."""
    if profile.task == "forecast":  # the only task whose model is wrapped: see anchored_forecast
        model = anchored_forecast(model, profile)
    return compile_for_task(model, profile, hp.Choice("learning_rate", [1e-3, 3e-3, 3e-4], default=learning_rate))


def anchored_forecast(model: keras.Model, profile) -> keras.Model:
    """Wraps a family's model for forecasting: it sees each raw window relative to its last step, and
    its output is added to that last value plus a linear map of the window that starts as the
    seasonal-naive forecast. A level the training stretch never reached (a trend) then needs no
    extrapolation, and training starts from a strong baseline (with the head's zero start, the
    untrained model *is* the seasonal-naive forecast) instead of from noise."""
    spec = profile.forecast_inputs
    window = keras.Input(shape=(spec.lookback, len(spec.value_columns)), dtype="float32", name="window")
    last = window[:, -1:, :]
    centred = ops.subtract(window, last)
    linear = layers.Dense(spec.horizon * len(spec.target_columns), name="seasonal_linear", dtype="float32")
    seasonal = layers.Reshape((spec.horizon, len(spec.target_columns)), dtype="float32")(
        linear(layers.Flatten(dtype="float32")(centred)))
    linear.kernel.assign(seasonal_naive_kernel(spec))
    anchor = ops.take(last, list(spec.target_indices), axis=2)  # [batch, 1, targets]
    forecast = ops.add(ops.add(model(centred), seasonal), anchor)
    return keras.Model(window, forecast, name=f"{model.name}_forecast")


def seasonal_naive_kernel(spec) -> np.ndarray:
    """[lookback × channels, horizon × targets] weights picking, for each forecast step, the value one
    season earlier (relative to the last step); 0 (the last value itself) where that is beyond the window."""
    channels, targets = len(spec.value_columns), len(spec.target_columns)
    kernel = np.zeros((spec.lookback, channels, spec.horizon, targets), dtype="float32")
    for step in range(spec.horizon):
        back = spec.season * (step // spec.season + 1) - step  # steps before the window's end, from 1
        if 1 <= back <= spec.lookback and spec.season > 1:
            for target, channel in enumerate(spec.target_indices):
                kernel[spec.lookback - back, channel, step, target] = 1.0
    return kernel.reshape(spec.lookback * channels, spec.horizon * targets)


def compile_for_task(model: keras.Model, profile, learning_rate: float) -> keras.Model:
    """Adam at learning_rate with the task's loss and metrics."""
    return task_named(profile.task).compile(model, learning_rate)

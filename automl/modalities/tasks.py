"""One object per task: what differs between classification, regression and forecasting — the
objective trials are ranked by, the loss, the output head, the serving outputs, the headline metrics,
the baseline and the overfitting gap's wording. Stages ask `task_named(profile.task)` instead of
branching on the task's name."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

# Train accuracy this far above validation accuracy means the model memorises (5 points). The verdict
# and the leaderboard's "overfits" mark both use it.
OVERFIT_ACCURACY_GAP = 0.05


@dataclass(frozen=True)
class Task:
    """The shared shape of a task; the subclasses below fill in what differs.

    Attributes:
        name: "classification", "regression" or "forecast" (as in Profile.task and metadata.json).
        objective, direction: The validation metric trials are ranked by, and whether higher is better.
        loss, metrics: What the model is compiled with.
        outputs: The serving endpoint's output names, in metadata.json.
        headline: The test metrics the report's header and the CLI's summary line show.
        baseline_name: What the baseline row of the metrics table is.
        gap_wording: How the generalization gap is explained in the report.
        has_classes: Labels are classes (balance, class weights, confusion matrix, gallery of mistakes).
        independent_examples: Test examples are independent (a forecast's windows overlap), so a small test
            split moves the score in visible steps.
        standardised_target: The network learns the target standardised (its mean and spread are profiled).
    """

    name: str
    objective: str
    direction: str
    loss: str
    metrics: tuple[str, ...]
    outputs: tuple[str, ...]
    headline: tuple[str, ...]
    baseline_name: str
    gap_wording: str
    has_classes: bool = False
    independent_examples: bool = True
    standardised_target: bool = False

    def reason(self, profile) -> str:
        """Why this is the task, for the plan."""
        raise NotImplementedError

    def output_head(self, x, profile):
        raise NotImplementedError

    def serve_outputs(self, result, class_names) -> dict:
        """The serving endpoint's outputs from the model's raw output."""
        raise NotImplementedError

    def compile(self, model: keras.Model, learning_rate: float) -> keras.Model:
        model.compile(keras.optimizers.Adam(learning_rate), loss=self.loss, metrics=list(self.metrics))
        return model

    def validation_loss(self, labels: np.ndarray, outputs: np.ndarray) -> float:
        """The loss an ensemble of trials is chosen by: mean squared error unless the task says otherwise."""
        return float(np.mean((outputs.reshape(-1) - labels.reshape(-1)) ** 2))

    def gap_text(self, gap: float) -> str:
        return f"{gap:.3f} ({self.gap_wording})"

    def score_sentence(self, test: dict, baseline: dict) -> str:
        """The test score for the CLI's summary line."""
        return f"test MAE {test['mae']:.4g}, R² {test['r2']:.3f}"


@dataclass(frozen=True)
class Classification(Task):
    def output_head(self, x, profile):
        return layers.Dense(profile.num_classes, activation="softmax", name="probabilities", dtype="float32")(x)

    def serve_outputs(self, result, class_names) -> dict:
        names = tf.constant(list(class_names))
        return {"probabilities": result, "predicted_class": tf.gather(names, tf.argmax(result, axis=-1))}

    def validation_loss(self, labels: np.ndarray, outputs: np.ndarray) -> float:
        picked = np.clip(outputs[np.arange(len(labels)), labels], 1e-7, 1.0)
        return float(-np.mean(np.log(picked)))

    def gap_text(self, gap: float) -> str:
        return f"{100 * gap:.2f} percentage points ({self.gap_wording})"

    def reason(self, profile) -> str:
        return f"Classification: the target has {profile.num_classes} distinct classes."

    def score_sentence(self, test: dict, baseline: dict) -> str:
        return f"test accuracy {test['accuracy']:.2%} (majority baseline {baseline['accuracy']:.2%})"


@dataclass(frozen=True)
class Regression(Task):
    def output_head(self, x, profile):
        """One value, rescaled to the target's units (the network learns the standardised target)."""
        x = layers.Dense(1, name="normalised_prediction", dtype="float32")(x)
        return layers.Rescaling(scale=profile.target_std, offset=profile.target_mean, name="prediction",
                                dtype="float32")(x)

    def serve_outputs(self, result, class_names) -> dict:
        return {"prediction": tf.reshape(result, [-1])}

    def reason(self, profile) -> str:
        return "Regression: the target is numeric with many distinct values."


@dataclass(frozen=True)
class Forecast(Task):
    def output_head(self, x, profile):
        """[horizon, targets] changes from the window's last value, rescaled to the targets' units."""
        spec = profile.forecast_inputs
        targets = len(spec.target_columns)
        # Zeros: the untrained forecast adds nothing to anchored_forecast's seasonal-naive start.
        x = layers.Dense(spec.horizon * targets, kernel_initializer="zeros", name="normalised_forecast",
                         dtype="float32")(x)
        x = layers.Reshape((spec.horizon, targets), dtype="float32")(x)
        return layers.Normalization(axis=-1, mean=[0.0] * targets, variance=[s * s for s in spec.delta_std],
                                    invert=True, name="forecast_change", dtype="float32")(x)

    def serve_outputs(self, result, class_names) -> dict:
        return {"forecast": result}  # [batch, horizon, targets] in the targets' units

    def reason(self, profile) -> str:
        spec = profile.forecast_inputs
        return (f"Forecasting: --horizon {spec.horizon} asks for the next {spec.horizon} steps of "
                f"{', '.join(map(repr, spec.target_columns))} from the last {spec.lookback}.")

    def score_sentence(self, test: dict, baseline: dict) -> str:
        return f"test MASE {test['mase']:.3f} (seasonal naive {baseline['mase']:.3f}), MAE {test['mae']:.4g}"


CLASSIFICATION = Classification(
    "classification", objective="val_accuracy", direction="max", loss="sparse_categorical_crossentropy",
    metrics=("accuracy",), outputs=("probabilities", "predicted_class"), headline=("accuracy",),
    baseline_name="majority class", gap_wording="train minus validation accuracy", has_classes=True)
REGRESSION = Regression(
    "regression", objective="val_loss", direction="min", loss="mse", metrics=("mae",), outputs=("prediction",),
    headline=("mae", "rmse", "r2"), baseline_name="training mean", gap_wording="train minus validation R²",
    standardised_target=True)
FORECAST = Forecast(
    "forecast", objective="val_loss", direction="min", loss="mse", metrics=("mae",), outputs=("forecast",),
    headline=("mase", "mae", "rmse"), baseline_name="seasonal naive", gap_wording="validation minus train MASE",
    independent_examples=False)

TASKS = {task.name: task for task in (CLASSIFICATION, REGRESSION, FORECAST)}


def task_named(name: str) -> Task:
    """The task object for Profile.task / metadata.json's "task"."""
    return TASKS[name]


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """The mean recall over the classes present in truth: what accuracy would be if every class were as
    frequent as the others (always predicting the majority class scores 1 / classes)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if not len(truth):
        return float("nan")
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))

"""One object per task: what differs between classification, regression, forecasting and anomaly detection — the
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
        trains_on_labels: Labels are the training target; when False (anomaly), every batch's target is zero and
            the model's output is its own reconstruction error, which the loss (MAE against zero) minimises.
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
    trains_on_labels: bool = True  # False: labels only score the model (anomaly detection reconstructs inputs)

    def reason(self, profile) -> str:
        """Why this is the task, for the plan."""
        raise NotImplementedError

    def output_head(self, x, profile):
        raise NotImplementedError

    def serve_outputs(self, result, class_names) -> dict:
        """The serving endpoint's outputs from the model's raw output."""
        raise NotImplementedError

    def serve_settings(self, profile) -> dict:
        """Keyword arguments of serve_outputs that the profile holds (a multi-label model's thresholds)."""
        return {}

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


@dataclass(frozen=True)
class Anomaly(Task):
    """Anomaly detection: the model outputs each example's reconstruction error (automl.families.autoencoder_*),
    trained towards zero; the threshold (automl.modalities.anomaly) turns it into a decision at export."""

    def output_head(self, x, profile):
        raise TypeError("Anomaly detection has no output head: its families output their reconstruction error.")

    def serve_settings(self, profile) -> dict:
        threshold = getattr(profile, "anomaly_threshold", None)
        return {} if threshold is None else {"threshold": threshold}

    def serve_outputs(self, result, class_names, threshold: float = float("inf")) -> dict:
        score = tf.reshape(result, [-1])
        return {"anomaly_score": score, "is_anomaly": score > tf.constant(threshold, score.dtype)}

    def validation_loss(self, labels: np.ndarray, outputs: np.ndarray) -> float:
        return float(np.mean(outputs))  # the mean reconstruction error is the loss itself

    def gap_text(self, gap: float) -> str:
        return f"{gap:.4g} ({self.gap_wording})"

    def reason(self, profile) -> str:
        return ("Anomaly detection: no labels found, so the model learns to reconstruct the examples and flags "
                "those it reconstructs badly. To classify instead, give labels: class sub-folders of images, a "
                "labelled .ts file, or --target COLUMN for a table.")

    def score_sentence(self, test: dict, baseline: dict) -> str:
        if "roc_auc" in test:
            return (f"test ROC AUC {test['roc_auc']:.3f}, precision {test['precision']:.2f}, recall "
                    f"{test['recall']:.2f} at the threshold")
        return f"{test.get('flagged', 0):.1%} of test examples flagged (no labelled anomalies to score against)"


@dataclass(frozen=True)
class MultiLabel(Task):
    """Several labels an example: one sigmoid output per label (binary cross-entropy), and a threshold per
    label tuned on validation (automl.diagnose.multilabel) that turns probabilities into the label set."""

    def output_head(self, x, profile):
        return layers.Dense(profile.num_classes, activation="sigmoid", name="probabilities", dtype="float32")(x)

    def compile(self, model: keras.Model, learning_rate: float) -> keras.Model:
        # AUC averaged over the labels (multi_label=True) ranks trials: it does not depend on thresholds (tuned
        # after the search) and, unlike binary accuracy, is not high for a model that predicts "no label" for
        # every rare label.
        metrics = [keras.metrics.AUC(multi_label=True, name="auc"), keras.metrics.BinaryAccuracy(name="binary_accuracy")]
        model.compile(keras.optimizers.Adam(learning_rate), loss=self.loss, metrics=metrics)
        return model

    def serve_outputs(self, result, class_names, thresholds=()) -> dict:
        """Per-label probabilities, a 0/1 vector per label (probability at or above the label's threshold) and
        the label set as one string, its labels joined by "|" in class_names order ("" for none)."""
        cut = tf.constant(list(thresholds) or [0.5] * len(class_names), tf.float32)
        predicted = tf.cast(result >= cut, tf.int32)
        names = tf.broadcast_to(tf.constant(list(class_names)), tf.shape(result))
        chosen = tf.ragged.boolean_mask(names, predicted > 0)
        return {"probabilities": result, "predicted": predicted,
                "predicted_labels": tf.strings.reduce_join(chosen, axis=-1, separator="|")}

    def serve_settings(self, profile) -> dict:
        return {"thresholds": tuple(getattr(profile, "label_thresholds", ()) or ())}

    def validation_loss(self, labels: np.ndarray, outputs: np.ndarray) -> float:
        """Binary cross-entropy averaged over examples and labels."""
        p = np.clip(outputs, 1e-7, 1 - 1e-7)
        return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))

    def gap_text(self, gap: float) -> str:
        return f"{gap:.3f} ({self.gap_wording})"

    def reason(self, profile) -> str:
        return (f"Multi-label classification: each example has a set of the {profile.num_classes} labels "
                f"({', '.join(profile.class_names[:8])}{' …' if profile.num_classes > 8 else ''}).")

    def score_sentence(self, test: dict, baseline: dict) -> str:
        return (f"test micro F1 {test['micro_f1']:.3f}, macro F1 {test['macro_f1']:.3f}, subset accuracy "
                f"{test['subset_accuracy']:.2%} (most frequent label set: micro F1 {baseline['micro_f1']:.3f})")


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

ANOMALY = Anomaly(
    "anomaly", objective="val_loss", direction="min", loss="mae", metrics=(), outputs=("anomaly_score", "is_anomaly"),
    headline=("roc_auc", "f1"), baseline_name="IsolationForest on the same rows",
    gap_wording="validation minus train mean reconstruction error", trains_on_labels=False)

MULTILABEL = MultiLabel(
    "multilabel", objective="val_auc", direction="max", loss="binary_crossentropy", metrics=(),
    outputs=("probabilities", "predicted", "predicted_labels"), headline=("micro_f1", "macro_f1", "subset_accuracy"),
    baseline_name="most frequent label set", gap_wording="train minus validation micro F1")

TASKS = {task.name: task for task in (CLASSIFICATION, REGRESSION, FORECAST, ANOMALY, MULTILABEL)}


def task_named(name: str) -> Task:
    """The task object for Profile.task / metadata.json's "task"."""
    return TASKS[name]


def higher_is_better(objective: str) -> bool:
    """Whether a larger value of this validation metric is better (accuracies and AUC; losses are not)."""
    return objective.endswith(("accuracy", "auc"))


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """The mean recall over the classes present in truth: what accuracy would be if every class were as
    frequent as the others (always predicting the majority class scores 1 / classes)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if not len(truth):
        return float("nan")
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))

"""Diagnose stage, classification and regression: per-split metrics, baseline, generalization gap and an
ok / overfitting / underfitting verdict with suggested fixes. Pure: it takes predictions, not models."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, log_loss, mean_absolute_error,
                             mean_squared_error, precision_recall_fscore_support, r2_score)

from automl.diagnose.calibration import calibrate
from automl.diagnose.result import ClassMetrics, Diagnostics
from automl.modalities.tasks import OVERFIT_ACCURACY_GAP

# Train R² this far above validation R² means the model memorises (0.1 of explained variance lost on unseen data).
OVERFIT_R2_GAP = 0.10
# A model that closes less than half the distance from the baseline to a perfect training score
# has not fit even the data it sees.
UNDERFIT_LIFT = 0.5
# Regression models explaining less than half the training variance underfit.
UNDERFIT_R2 = 0.5


def _classification_metrics(labels, probabilities, num_classes) -> dict[str, float]:
    predicted = probabilities.argmax(axis=1)
    clipped = np.clip(probabilities, 1e-7, 1)
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "loss": float(log_loss(labels, clipped / clipped.sum(1, keepdims=True), labels=list(range(num_classes))))}


def _regression_metrics(targets, predictions) -> dict[str, float]:
    return {"mae": float(mean_absolute_error(targets, predictions)),
            "rmse": float(np.sqrt(mean_squared_error(targets, predictions))),
            "r2": float(r2_score(targets, predictions)) if len(targets) > 1 else 0.0}


def _verdict_classification(metrics, baseline):
    train, val = metrics["train"]["accuracy"], metrics["val"]["accuracy"]
    gap, floor = train - val, baseline + UNDERFIT_LIFT * (1 - baseline)
    if train < floor:
        return gap, "underfitting", (
            f"Train accuracy {train:.1%} is below {floor:.1%} (halfway from the majority baseline {baseline:.1%} to 100%)."), (
            "Give the search more time or epochs (--time-budget, --epochs).",
            "Allow larger models, or check that the labels match the inputs.")
    if gap > OVERFIT_ACCURACY_GAP:
        return gap, "overfitting", (
            f"Train accuracy {train:.1%} exceeds validation accuracy {val:.1%} by {gap:.1%} "
            f"(limit {OVERFIT_ACCURACY_GAP:.0%})."), (
            "Add training data or augmentation.", "Prefer smaller models or more dropout; stop earlier.")
    return gap, "ok", (f"Train {train:.1%} and validation {val:.1%} are within {OVERFIT_ACCURACY_GAP:.0%}, "
                       f"and well above the baseline {baseline:.1%}."), ()


def _verdict_regression(metrics):
    train, val = metrics["train"]["r2"], metrics["val"]["r2"]
    gap = train - val
    if train < UNDERFIT_R2:
        return gap, "underfitting", f"Train R² {train:.3f} is below {UNDERFIT_R2}.", (
            "Give the search more time or epochs.", "Add informative feature columns.")
    if gap > OVERFIT_R2_GAP:
        return gap, "overfitting", f"Train R² {train:.3f} exceeds validation R² {val:.3f} by {gap:.3f} (limit {OVERFIT_R2_GAP}).", (
            "Add training data.", "Prefer smaller models or more dropout.")
    return gap, "ok", f"Train R² {train:.3f} and validation R² {val:.3f} are within {OVERFIT_R2_GAP}.", ()


def diagnose_regression(labels: dict, outputs: dict, train_mean: float, best_epoch: int) -> Diagnostics:
    """MAE, RMSE and R² per split against the training mean, and the R² verdict.

    Args:
        labels: split → true targets.
        outputs: split → predictions (n,) or (n, 1).
        train_mean: Mean training target (the baseline).
        best_epoch: Epoch (from 1) the kept weights come from.
    """
    metrics = {s: _regression_metrics(labels[s], outputs[s].reshape(-1)) for s in labels}
    baseline = _regression_metrics(labels["test"], np.full(len(labels["test"]), train_mean))
    gap, verdict, reason, fixes = _verdict_regression(metrics)
    return Diagnostics("regression", metrics, baseline, best_epoch, gap, verdict, reason, fixes)


def diagnose_classification(class_names, labels: dict, outputs: dict, best_epoch: int) -> Diagnostics:
    """Accuracy and log loss per split against the majority class, the verdict, the confusion matrix,
    per-class metrics and calibration.

    Args:
        labels: split → true class ids.
        outputs: split → predicted probabilities (n, classes).
        best_epoch: Epoch (from 1) the kept weights come from.
    """
    n = len(class_names)
    metrics = {s: _classification_metrics(labels[s], outputs[s], n) for s in labels}
    majority = int(np.bincount(labels["train"], minlength=n).argmax())
    baseline = {"accuracy": float(np.mean(labels["test"] == majority))}
    gap, verdict, reason, fixes = _verdict_classification(metrics, float(np.mean(labels["train"] == majority)))
    predicted = outputs["test"].argmax(axis=1)
    matrix = confusion_matrix(labels["test"], predicted, labels=list(range(n)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels["test"], predicted, labels=list(range(n)), zero_division=0)
    per_class = tuple(ClassMetrics(str(name), float(p), float(r), float(f), int(s))
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support))
    return Diagnostics("classification", metrics, baseline, best_epoch, gap, verdict, reason, fixes,
                       tuple(tuple(int(v) for v in row) for row in matrix), per_class,
                       calibrate(labels["test"], outputs["test"]))


def best_epoch_of(history: dict[str, list[float]], objective: str) -> int:
    values = history.get(objective, [])
    if not values:
        return 0
    pick = np.argmax if objective.endswith("accuracy") else np.argmin
    return int(pick(values)) + 1

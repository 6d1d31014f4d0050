"""Diagnose stage, classification and regression: per-split metrics, baseline, generalization gap and an
ok / overfitting / underfitting verdict with suggested fixes. Pure: it takes predictions, not models."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from automl.diagnose.calibration import calibrate_top1
from automl.diagnose.confusion import FULL_CONFUSION_MAX_CLASSES, confusion_matrix, per_class_metrics, top_confusions
from automl.diagnose.result import Diagnostics
from automl.diagnose.top1 import top1
from automl.modalities.tasks import OVERFIT_ACCURACY_GAP, balanced_accuracy, higher_is_better

# Train R² this far above validation R² means the model memorises (0.1 of explained variance lost on unseen data).
OVERFIT_R2_GAP = 0.10
# A model that closes less than half the distance from the baseline to a perfect training score
# has not fit even the data it sees.
UNDERFIT_LIFT = 0.5
# Regression models explaining less than half the training variance underfit.
UNDERFIT_R2 = 0.5


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
    """Accuracy and log loss per split against the majority class, the verdict, the confusion matrix (up
    to FULL_CONFUSION_MAX_CLASSES classes) and the most frequent confusions, per-class metrics and calibration.

    Time and memory are O(outputs) to read the probabilities once, then O(examples + classes): no
    classes × classes array is built past FULL_CONFUSION_MAX_CLASSES.

    Args:
        labels: split → true class ids.
        outputs: split → predicted probabilities (n, classes).
        best_epoch: Epoch (from 1) the kept weights come from.
    """
    n = len(class_names)
    summaries = {s: top1(labels[s], outputs[s]) for s in labels}
    metrics = {s: {"accuracy": summary.accuracy, "balanced_accuracy": balanced_accuracy(labels[s], summary.predicted),
                   "loss": summary.loss} for s, summary in summaries.items()}
    majority = int(np.bincount(labels["train"], minlength=n).argmax())
    always = np.full(len(labels["test"]), majority)
    baseline = {"accuracy": float(np.mean(labels["test"] == majority)),
                "balanced_accuracy": balanced_accuracy(labels["test"], always)}
    gap, verdict, reason, fixes = _verdict_classification(metrics, float(np.mean(labels["train"] == majority)))
    note = baseline_note(metrics["test"], baseline)
    if note:
        reason = f"{note} {reason}"
    test, truth = summaries["test"], labels["test"]
    matrix = confusion_matrix(truth, test.predicted, n) if n <= FULL_CONFUSION_MAX_CLASSES else ()
    return Diagnostics("classification", metrics, baseline, best_epoch, gap, verdict, reason, fixes,
                       matrix, per_class_metrics(truth, test.predicted, class_names),
                       calibrate_top1(test.confidence, test.correct),
                       top_confusions=top_confusions(truth, test.predicted, class_names), baseline_note=note)


def baseline_note(test: dict, baseline: dict) -> str:
    """Plain words when the model's test accuracy does not beat always predicting the majority class."""
    if test["accuracy"] > baseline["accuracy"]:
        return ""
    balanced = test["balanced_accuracy"]
    if balanced > baseline["balanced_accuracy"]:
        rescue = (f" It does tell the classes apart better than that (balanced accuracy {balanced:.1%} against "
                  f"{baseline['balanced_accuracy']:.1%}), so it trades overall accuracy for the rarer classes.")
    else:
        rescue = " Nor does it tell the classes apart any better (balanced accuracy " f"{balanced:.1%})."
    return (f"This model is no better than always predicting the majority class: test accuracy {test['accuracy']:.1%} "
            f"against {baseline['accuracy']:.1%}.{rescue}")


def best_epoch_of(history: dict[str, list[float]], objective: str) -> int:
    values = history.get(objective, [])
    if not values:
        return 0
    pick = np.argmax if higher_is_better(objective) else np.argmin
    return int(pick(values)) + 1

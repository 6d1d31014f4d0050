"""Diagnose stage, multi-label: a threshold per label tuned on validation, micro / macro F1 and subset accuracy per
split against the most frequent label set, per-label metrics and the micro-F1 verdict. Pure: it takes
probabilities, not models."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support

from automl.diagnose.result import ClassMetrics, Diagnostics
from automl.modalities.tasks import OVERFIT_ACCURACY_GAP

# Thresholds tried per label: a coarse grid, since a fine one would fit the noise of a small validation split.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
# A label seen fewer times than this in validation keeps 0.5: one or two positives give no threshold to trust.
MIN_POSITIVES_TO_TUNE = 3
# As for classification: a model short of halfway from the baseline's train micro F1 to 1 underfits.
UNDERFIT_LIFT = 0.5
# What a multi-label run leaves out of the report, and why (the report's multi-label section says it).
SKIPPED_SENTENCE = ("Multi-label runs skip what assumes one class an example: the confusion matrix, class balance "
                    "and class weights, calibration, balanced accuracy, the gallery of mistakes, cross-validation, "
                    "the simple models and the label-issue check.")


def tune_thresholds(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, ...]:
    """Per label, the grid threshold maximising that label's validation F1 (ties: the one nearest 0.5). Compared in
    float32, as the SavedModel compares its float32 probabilities with them."""
    probabilities, thresholds = np.asarray(probabilities, dtype=np.float32), []
    for j in range(labels.shape[1]):
        truth = labels[:, j] > 0.5
        if truth.sum() < MIN_POSITIVES_TO_TUNE:
            thresholds.append(0.5)
            continue
        scores = [f1_score(truth, probabilities[:, j] >= np.float32(t), zero_division=0.0) for t in THRESHOLD_GRID]
        best = max(scores)
        thresholds.append(float(min((t for t, s in zip(THRESHOLD_GRID, scores) if s == best), key=lambda t: abs(t - 0.5))))
    return tuple(thresholds)


def label_set_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Micro F1 (every label decision pooled), macro F1 (the mean of the labels' F1) and subset accuracy (the
    whole set right)."""
    truth, predicted = labels > 0.5, predicted > 0.5
    return {"micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0.0)),
            "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0.0)),
            "subset_accuracy": float(np.mean(np.all(truth == predicted, axis=1))) if len(truth) else float("nan")}


def _loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities, 1e-7, 1 - 1e-7)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def most_frequent_set(train_labels: np.ndarray) -> np.ndarray:
    """The label set (a 0/1 vector) seen most often in training."""
    sets, counts = np.unique(train_labels > 0.5, axis=0, return_counts=True)
    return sets[counts.argmax()].astype(np.float32)


def _verdict(metrics: dict, baseline_train: float):
    train, val = metrics["train"]["micro_f1"], metrics["val"]["micro_f1"]
    gap, floor = train - val, baseline_train + UNDERFIT_LIFT * (1 - baseline_train)
    if train < floor:
        return gap, "underfitting", (f"Train micro F1 {train:.3f} is below {floor:.3f} (halfway from the most frequent "
                                     f"label set's {baseline_train:.3f} to 1)."), (
            "Give the search more time or epochs (--time-budget, --epochs).",
            "Allow larger models, or check that the labels match the inputs.")
    if gap > OVERFIT_ACCURACY_GAP:
        return gap, "overfitting", (f"Train micro F1 {train:.3f} exceeds validation micro F1 {val:.3f} by {gap:.3f} "
                                    f"(limit {OVERFIT_ACCURACY_GAP})."), (
            "Add training data or augmentation.", "Prefer smaller models or more dropout; stop earlier.")
    return gap, "ok", (f"Train micro F1 {train:.3f} and validation {val:.3f} are within {OVERFIT_ACCURACY_GAP}, and "
                       f"above the most frequent label set's {baseline_train:.3f}."), ()


def diagnose_multilabel(class_names, labels: dict, outputs: dict, best_epoch: int) -> Diagnostics:
    """Thresholds tuned on validation, then micro / macro F1, subset accuracy and loss per split, the most
    frequent training label set as the baseline, per-label precision / recall / F1 on test, and the verdict.

    Args:
        labels: split → [examples, labels] 0/1 arrays.
        outputs: split → [examples, labels] probabilities.
        best_epoch: Epoch (from 1) the kept weights come from.
    """
    outputs = {split: np.asarray(values, dtype=np.float32) for split, values in outputs.items()}
    thresholds = tune_thresholds(labels["val"], outputs["val"])
    cut = np.array(thresholds, dtype=np.float32)
    metrics = {s: {**label_set_metrics(labels[s], outputs[s] >= cut), "loss": _loss(labels[s], outputs[s])}
               for s in labels}
    common = most_frequent_set(labels["train"])
    baseline = label_set_metrics(labels["test"], np.tile(common, (len(labels["test"]), 1)))
    baseline_train = label_set_metrics(labels["train"], np.tile(common, (len(labels["train"]), 1)))["micro_f1"]
    gap, verdict, reason, fixes = _verdict(metrics, baseline_train)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels["test"] > 0.5, outputs["test"] >= cut, average=None, zero_division=0.0)
    per_label = tuple(ClassMetrics(str(name), float(p), float(r), float(f), int(n))
                      for name, p, r, f, n in zip(class_names, precision, recall, f1, support))
    return Diagnostics("multilabel", metrics, baseline, best_epoch, gap, verdict, reason, fixes,
                       per_class=per_label, thresholds=thresholds)

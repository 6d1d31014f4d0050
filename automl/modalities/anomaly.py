"""Anomaly detection's shared facts: the threshold on reconstruction error (a quantile of the validation
errors), the labels examples carry (1 anomaly, 0 normal, -1 unknown), and how a score is judged where
some labels exist. Search sets the threshold, diagnosis judges it, export bakes it into the SavedModel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.ingest import ANOMALY, NORMAL, UNKNOWN  # Split.labels of anomaly data: evaluation only


@dataclass(frozen=True)
class AnomalyThreshold:
    """Examples scoring above `value` are anomalies: `quantile` of the validation reconstruction errors.

    Attributes:
        quantile: The share of validation examples (assumed normal) that score at or below the threshold.
        value: The reconstruction error at that quantile.
        validation_examples: How many validation scores it was read from (few make the quantile coarse).
    """

    quantile: float
    value: float
    validation_examples: int


def anomaly_threshold(val_scores: np.ndarray, labels: np.ndarray, quantile: float) -> AnomalyThreshold:
    """The threshold from validation scores; examples labelled anomalous (if any reached validation) are
    left out, since the quantile describes normal data."""
    scores = np.asarray(val_scores, dtype=np.float64).reshape(-1)
    normal = scores[np.asarray(labels).reshape(-1) != ANOMALY] if len(labels) == len(scores) else scores
    normal = normal[np.isfinite(normal)] if np.isfinite(normal).any() else scores
    value = float(np.quantile(normal, quantile)) if len(normal) else float("inf")
    return AnomalyThreshold(quantile=quantile, value=value, validation_examples=int(len(normal)))


def has_labelled_anomalies(labels: np.ndarray) -> bool:
    """Whether labels can score a detector: both normal and anomalous examples are known."""
    labels = np.asarray(labels)
    return bool((labels == NORMAL).any() and (labels == ANOMALY).any())


def detection_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of `score > threshold` against the known labels, and the ROC AUC of the score
    (threshold-free); only examples with a known label count. Empty when the labels cannot score."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    scores, labels = np.asarray(scores, dtype=np.float64).reshape(-1), np.asarray(labels).reshape(-1)
    known = labels != UNKNOWN
    if not has_labelled_anomalies(labels[known]):
        return {}
    truth, score = labels[known] == ANOMALY, np.nan_to_num(scores[known], nan=np.inf, posinf=np.finfo(float).max)
    precision, recall, f1, _ = precision_recall_fscore_support(truth, score > threshold, average="binary",
                                                               zero_division=0)
    return {"roc_auc": float(roc_auc_score(truth, score)), "precision": float(precision), "recall": float(recall),
            "f1": float(f1)}

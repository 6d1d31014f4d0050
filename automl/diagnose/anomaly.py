"""Diagnose stage, anomaly detection: the reconstruction errors of every split against the threshold, the
score distribution, and — where some examples are labelled — precision, recall, F1 and ROC AUC, beside
scikit-learn's IsolationForest on the same table rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.diagnose.result import Diagnostics
from automl.ingest import ANOMALY, NORMAL, UNKNOWN
from automl.modalities.anomaly import AnomalyThreshold, detection_metrics, has_labelled_anomalies

# The score distribution is summarised at these quantiles (and the maximum), per split.
SCORE_QUANTILES = (0.5, 0.9, 0.99)
HISTOGRAM_BINS = 30
# Validation errors this many times the training errors: the autoencoder reconstructs what it trained on much
# better than unseen examples, so it memorises rather than learning what normal looks like.
OVERFIT_ERROR_RATIO = 2.0
# A ROC AUC under this on labelled test data hardly tells anomalies apart (0.5 is chance).
WEAK_ROC_AUC = 0.6
# Configurations the report names as the things to try.
ANOMALY_FIXES = ("A smaller bottleneck or fewer units (the autoencoder may copy anomalies as well as normal "
                 "examples).", "More epochs or trials (--epochs, --max-trials).",
                 "A lower --anomaly-quantile flags more examples (higher recall, lower precision).")


@dataclass(frozen=True)
class AnomalyReport:
    """What the report says about the scores.

    Attributes:
        threshold, quantile: Examples scoring above threshold are anomalies; it is that quantile of validation errors.
        distribution: split → {"p50", "p90", "p99", "max", "mean"} of the reconstruction errors.
        flagged: split → share of examples above the threshold.
        labelled: How many test examples are known anomalies and known normal ones.
        histogram_edges, histogram: Test score histogram (log10 of the score), counts per group ("normal",
            "anomaly", "unlabelled").
        isolation_forest: IsolationForest's test metrics at the same quantile rule (labelled tables only).
    """

    threshold: float
    quantile: float
    distribution: dict[str, dict[str, float]]
    flagged: dict[str, float]
    labelled: dict[str, int]
    histogram_edges: tuple[float, ...] = ()
    histogram: dict[str, tuple[int, ...]] | None = None
    isolation_forest: dict[str, float] | None = None


def _distribution(scores: np.ndarray) -> dict[str, float]:
    if not len(scores):
        return {}
    return {**{f"p{round(q * 100)}": float(np.quantile(scores, q)) for q in SCORE_QUANTILES},
            "max": float(np.max(scores)), "mean": float(np.mean(scores))}


def _histogram(scores: np.ndarray, labels: np.ndarray) -> tuple[tuple[float, ...], dict[str, tuple[int, ...]]]:
    logs = np.log10(np.maximum(scores, 1e-12))
    edges = np.histogram_bin_edges(logs, bins=HISTOGRAM_BINS) if len(logs) else np.array([])
    groups = {"normal": labels == NORMAL, "anomaly": labels == ANOMALY, "unlabelled": labels == UNKNOWN}
    return tuple(map(float, edges)), {name: tuple(int(c) for c in np.histogram(logs[mask], bins=edges)[0])
                                      for name, mask in groups.items() if mask.any() and len(edges)}


def diagnose_anomaly(dataset, outputs: dict[str, np.ndarray], best_epoch: int, threshold: AnomalyThreshold,
                     seed: int = 0) -> Diagnostics:
    """Metrics per split (mean reconstruction error as loss, share flagged, and the detection metrics where labels
    allow), the IsolationForest baseline for labelled tables, and a verdict."""
    scores = {name: np.asarray(values, dtype=np.float64).reshape(-1) for name, values in outputs.items()}
    labels = {name: split.labels for name, split in dataset.splits().items()}
    metrics = {name: {"loss": float(np.mean(s)) if len(s) else float("nan"),
                      "flagged": float(np.mean(s > threshold.value)) if len(s) else float("nan"),
                      **detection_metrics(s, labels[name], threshold.value)} for name, s in scores.items()}
    forest = _isolation_forest(dataset, threshold.quantile, seed)
    edges, histogram = _histogram(scores["test"], labels["test"])
    report = AnomalyReport(
        threshold=threshold.value, quantile=threshold.quantile,
        distribution={name: _distribution(s) for name, s in scores.items()},
        flagged={name: values["flagged"] for name, values in metrics.items()},
        labelled={"anomaly": int((labels["test"] == ANOMALY).sum()), "normal": int((labels["test"] == NORMAL).sum())},
        histogram_edges=edges, histogram=histogram, isolation_forest=forest)
    gap = metrics["val"]["loss"] - metrics["train"]["loss"]
    verdict, reason = _verdict(metrics)
    return Diagnostics(task="anomaly", metrics=metrics, baseline=forest or {}, best_epoch=best_epoch, gap=gap,
                       verdict=verdict, verdict_reason=reason, fixes=ANOMALY_FIXES if verdict != "ok" else (),
                       anomaly=report)


def _verdict(metrics) -> tuple[str, str]:
    train, val, test = metrics["train"]["loss"], metrics["val"]["loss"], metrics["test"]
    if val > OVERFIT_ERROR_RATIO * train:
        return "overfitting", (f"The mean validation reconstruction error ({val:.4g}) is over {OVERFIT_ERROR_RATIO:g}× "
                               f"the training one ({train:.4g}): the autoencoder memorises its training examples, so "
                               "unseen normal examples look anomalous.")
    if "roc_auc" in test and test["roc_auc"] < WEAK_ROC_AUC:
        return "underfitting", (f"Test ROC AUC {test['roc_auc']:.3f} (0.5 is chance): the reconstruction error hardly "
                                "tells the labelled anomalies apart.")
    scored = f" Test ROC AUC {test['roc_auc']:.3f}." if "roc_auc" in test else " No labelled anomalies to score against."
    return "ok", f"Validation error {val:.4g} is close to training error {train:.4g}.{scored}"


def _isolation_forest(dataset, quantile: float, seed: int) -> dict[str, float] | None:
    """IsolationForest (scikit-learn) fitted on the same training rows, flagged by the same rule (above the
    quantile of its validation scores): a simple yardstick, for labelled tables only."""
    table = getattr(dataset, "table", None)
    if table is None or not has_labelled_anomalies(dataset.test.labels):
        return None
    from sklearn.ensemble import IsolationForest

    frames = [_numbers(frame, table.train) for frame in (table.train, table.val, table.test)]
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(frames[0])
    val_scores, test_scores = (-forest.score_samples(frame) for frame in frames[1:])
    return detection_metrics(test_scores, dataset.test.labels, float(np.quantile(val_scores, quantile))) or None


def _numbers(frame: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    """Every column as numbers: numeric ones filled with the training median, others as their training codes."""
    columns = []
    for column in train.columns:
        values = pd.to_numeric(frame[column], errors="coerce") if pd.api.types.is_numeric_dtype(train[column]) else None
        if values is None:
            codes = {value: code for code, value in enumerate(train[column].astype(str).unique())}
            values = frame[column].astype(str).map(codes).fillna(-1)
        else:
            values = values.fillna(pd.to_numeric(train[column], errors="coerce").median())
        columns.append(values.replace([np.inf, -np.inf], 0).fillna(0).to_numpy(dtype=np.float64))
    return np.stack(columns, axis=1)

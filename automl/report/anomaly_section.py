"""Report stage, anomaly detection section: the threshold and where it came from, the reconstruction errors'
distribution per split, a histogram of the test scores (normal, anomalous, unlabelled), the detection metrics
beside IsolationForest where labels allow, and what was skipped because it assumes classes or a target."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from automl.report.plots import BEST_COLOUR, DPI, TRAIN_COLOUR, VAL_COLOUR, _data_uri
from automl.report.sections import fmt_metric

SKIPPED = ("The class balance, confusion matrix, calibration, simple models, label-issue check, cross-validation "
           "and ensembling assume classes or a target, so they are skipped for anomaly detection; labels, where "
           "there are some, only score the detector.")
GROUP_COLOURS = {"normal": TRAIN_COLOUR, "anomaly": VAL_COLOUR, "unlabelled": BEST_COLOUR}


def score_histogram(report) -> str | None:
    """Test reconstruction errors (log scale), one bar series per group, and the threshold as a line."""
    if not report.histogram or len(report.histogram_edges) < 2:
        return None
    figure = Figure(figsize=(7.0, 2.8), dpi=DPI)
    axes = figure.add_subplot()
    edges = report.histogram_edges
    for group, counts in report.histogram.items():
        axes.stairs(counts, edges, label=group, color=GROUP_COLOURS.get(group), linewidth=1.4)
    if report.threshold > 0 and math.isfinite(report.threshold):
        axes.axvline(math.log10(report.threshold), color="black", linestyle=":", linewidth=1, label="threshold")
    axes.set_xlabel("log10 reconstruction error (test)")
    axes.set_ylabel("examples")
    axes.legend(fontsize=7)
    return _data_uri(figure)


def anomaly_context(diagnosis) -> dict:
    """The template's `anomaly` block (None unless the run detects anomalies)."""
    report = getattr(diagnosis, "anomaly", None)
    if report is None:
        return {"anomaly": None}
    rows = [{"split": split, "flagged": fmt_metric("accuracy", report.flagged.get(split)),
             **{k: f"{v:.4g}" for k, v in values.items()}} for split, values in report.distribution.items()]
    forest = report.isolation_forest or {}
    test = diagnosis.metrics.get("test", {})
    detection = [{"method": name, **{k: fmt_metric("r2", values.get(k)) for k in ("roc_auc", "precision", "recall", "f1")}}
                 for name, values in (("autoencoder", test), ("IsolationForest", forest)) if "roc_auc" in values]
    return {"anomaly": {"threshold": f"{report.threshold:.4g}", "quantile": f"{report.quantile:g}", "rows": rows,
                        "labelled": report.labelled, "detection": detection, "skipped": SKIPPED,
                        "plot": score_histogram(report)}}


def anomaly_summary(diagnosis) -> dict:
    """summary.json's `anomaly` entry (None unless the run detects anomalies)."""
    report = getattr(diagnosis, "anomaly", None)
    if report is None:
        return {"anomaly": None}
    return {"anomaly": {"threshold": report.threshold, "quantile": report.quantile,
                        "score_distribution": report.distribution, "flagged": report.flagged,
                        "labelled_test_examples": report.labelled, "isolation_forest": report.isolation_forest,
                        "skipped": SKIPPED}}

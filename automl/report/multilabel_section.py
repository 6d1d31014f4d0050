"""Report stage, multi-label section: per label, its test precision, recall and F1 at the threshold tuned on
validation, and what a multi-label run leaves out (plain values; the template escapes)."""

from __future__ import annotations

from automl.diagnose.multilabel import SKIPPED_SENTENCE


def multilabel_context(diagnosis) -> dict:
    """The template's `multilabel` (None unless the run is multi-label)."""
    if diagnosis.task != "multilabel":
        return {"multilabel": None}
    thresholds = diagnosis.thresholds or (0.5,) * len(diagnosis.per_class)
    rows = [{"name": c.name, "threshold": f"{t:.2f}", "precision": f"{c.precision:.3f}", "recall": f"{c.recall:.3f}",
             "f1": f"{c.f1:.3f}", "support": c.support} for c, t in zip(diagnosis.per_class, thresholds)]
    return {"multilabel": {"rows": rows, "skipped": SKIPPED_SENTENCE}}


def multilabel_summary(diagnosis) -> dict:
    """summary.json's multi-label keys: the thresholds by label, and what was skipped (none for other tasks)."""
    if diagnosis.task != "multilabel":
        return {}
    return {"label_thresholds": {c.name: t for c, t in zip(diagnosis.per_class, diagnosis.thresholds)},
            "skipped_for_multilabel": SKIPPED_SENTENCE}

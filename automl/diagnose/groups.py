"""Diagnose stage, groups (`--group-column COL`): the test metrics for each value of a table column (a
demographic group, a site, a device), and the largest gap between groups, flagged.

Groups with fewer than MIN_GROUP_EXAMPLES test examples are listed but not compared: one example in a group
of five moves its accuracy by 20 points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.modalities.tasks import balanced_accuracy

MIN_GROUP_EXAMPLES = 10
MAX_GROUPS_SHOWN = 30  # the largest groups; the rest are counted in the sentence
# A gap of this many points of accuracy (or this share of the overall MAE) is called out as a warning.
FLAG_ACCURACY_POINTS = 5.0
FLAG_MAE_SHARE = 0.25


@dataclass(frozen=True)
class GroupMetrics:
    value: str
    examples: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class GroupReport:
    """Per-group test metrics; gap is the largest difference of the compared metric between groups with enough
    examples (None when fewer than two have), and sentence says it in words."""

    column: str
    metric: str
    groups: tuple[GroupMetrics, ...]
    gap: float | None
    flagged: bool
    sentence: str


def group_report(column: str, values, labels, outputs, task: str) -> GroupReport:
    """The report for the test split's group values, true labels (class ids or targets) and model outputs
    (probabilities, or predictions)."""
    values = pd.Series(values).astype("string").fillna("(missing)").to_numpy()
    labels, outputs = np.asarray(labels), np.asarray(outputs)
    classify = task == "classification"
    predicted = outputs.argmax(axis=1) if classify else outputs.reshape(-1)
    metric = "accuracy" if classify else "mae"
    groups = []
    for value in pd.Series(values).value_counts().index:
        mask = values == value
        truth, guess = labels[mask], predicted[mask]
        if classify:
            metrics = {"accuracy": float(np.mean(truth == guess)), "balanced_accuracy": balanced_accuracy(truth, guess)}
        else:
            metrics = {"mae": float(np.mean(np.abs(truth - guess)))}
        groups.append(GroupMetrics(str(value), int(mask.sum()), metrics))
    compared = [g for g in groups if g.examples >= MIN_GROUP_EXAMPLES]
    if len(compared) < 2:
        return GroupReport(column, metric, tuple(groups[:MAX_GROUPS_SHOWN]), None, False,
                           f"Fewer than two groups of {column!r} have {MIN_GROUP_EXAMPLES} test examples or more, so "
                           "no gap between groups is measured.")
    best = max(compared, key=lambda g: g.metrics[metric] * (1 if classify else -1))
    worst = min(compared, key=lambda g: g.metrics[metric] * (1 if classify else -1))
    gap = abs(best.metrics[metric] - worst.metrics[metric])
    overall = float(np.mean(labels == predicted)) if classify else float(np.mean(np.abs(labels - predicted)))
    flagged = gap * 100 >= FLAG_ACCURACY_POINTS if classify else gap >= FLAG_MAE_SHARE * max(overall, 1e-12)
    shown = (lambda v: f"{v:.1%}") if classify else (lambda v: f"{v:.4g}")
    size = f" ({len(groups) - MAX_GROUPS_SHOWN} smaller groups not shown)" if len(groups) > MAX_GROUPS_SHOWN else ""
    sentence = (f"{'Largest gap' if not flagged else 'Warning: a large gap'} between groups of {column!r}: test "
                f"{metric.upper() if not classify else metric} {shown(best.metrics[metric])} for {best.value!r} "
                f"({best.examples} examples) against {shown(worst.metrics[metric])} for {worst.value!r} "
                f"({worst.examples}){size}.")
    return GroupReport(column, metric, tuple(groups[:MAX_GROUPS_SHOWN]), gap, flagged, sentence)

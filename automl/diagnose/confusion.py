"""Diagnose stage, what the test mistakes look like: the confusion matrix (few classes), the most frequent
confusions (any number of classes) and per-class precision, recall and F1.

Everything is counted from (true, predicted) pairs with np.bincount / np.unique, so the cost is
O(examples + classes); the dense classes × classes matrix is built only when it is small enough to keep.
"""

from __future__ import annotations

import numpy as np

from automl.diagnose.result import ClassMetrics, ConfusionPair

# The full test confusion matrix is kept (in report_state.json) and drawn (as a heatmap) up to this many
# classes: 50 × 50 cells still read as a picture and cost 2,500 numbers. It grows with the square of the
# class count — 10,000 classes are 10⁸ cells, a 300 MB report_state.json and a heatmap that does not fit
# in memory — and far past the point where a picture of it can be read; there only its largest
# off-diagonal cells say something, and those are kept instead (TOP_CONFUSIONS).
FULL_CONFUSION_MAX_CLASSES = 50
# The most frequent (true, predicted) mistakes kept: a table of this many rows is read; more is scrolled.
TOP_CONFUSIONS = 20


def confusion_matrix(labels, predicted, classes: int) -> tuple[tuple[int, ...], ...]:
    """The classes × classes count matrix (rows: true class), for small class counts only.

    Raises:
        ValueError: More than FULL_CONFUSION_MAX_CLASSES classes (use top_confusions).
    """
    if classes > FULL_CONFUSION_MAX_CLASSES:
        raise ValueError(f"{classes} classes: past {FULL_CONFUSION_MAX_CLASSES} the matrix is summarised "
                         "by top_confusions, not kept whole.")
    cells = np.bincount(np.asarray(labels, np.int64) * classes + np.asarray(predicted, np.int64),
                        minlength=classes * classes)
    return tuple(tuple(int(v) for v in row) for row in cells.reshape(classes, classes))


def _pairs(true_ids, predicted_ids, counts, class_names) -> tuple[ConfusionPair, ...]:
    return tuple(ConfusionPair(str(class_names[t]), str(class_names[p]), int(c))
                 for t, p, c in zip(true_ids, predicted_ids, counts))


def top_confusions(labels, predicted, class_names, count: int = TOP_CONFUSIONS) -> tuple[ConfusionPair, ...]:
    """The `count` most frequent (true class, predicted class) mistakes, most frequent first (ties: by true
    class, then predicted class, in class order)."""
    labels, predicted = np.asarray(labels, np.int64).reshape(-1), np.asarray(predicted, np.int64).reshape(-1)
    wrong = labels != predicted
    if not wrong.any():
        return ()
    cells, counts = np.unique(labels[wrong] * len(class_names) + predicted[wrong], return_counts=True)
    order = np.argsort(-counts, kind="stable")[:count]  # np.unique sorts cells, so ties stay in class order
    return _pairs(cells[order] // len(class_names), cells[order] % len(class_names), counts[order], class_names)


def top_confusions_of_matrix(matrix, class_names, count: int = TOP_CONFUSIONS) -> tuple[ConfusionPair, ...]:
    """top_confusions from an already counted matrix (report states written before it was kept)."""
    matrix = np.array(matrix, dtype=np.int64)
    if matrix.ndim != 2 or not matrix.size:
        return ()
    np.fill_diagonal(matrix, 0)
    flat = matrix.reshape(-1)
    cells = np.flatnonzero(flat)
    order = cells[np.argsort(-flat[cells], kind="stable")[:count]]
    side = matrix.shape[1]
    return _pairs(order // side, order % side, flat[order], class_names)


def per_class_metrics(labels, predicted, class_names) -> tuple[ClassMetrics, ...]:
    """Precision, recall, F1 and support per class (0 where undefined, as scikit-learn's zero_division=0)."""
    n = len(class_names)
    labels, predicted = np.asarray(labels, np.int64).reshape(-1), np.asarray(predicted, np.int64).reshape(-1)
    support = np.bincount(labels, minlength=n)[:n]
    predicted_count = np.bincount(predicted, minlength=n)[:n]
    hits = np.bincount(labels[labels == predicted], minlength=n)[:n]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted_count > 0, hits / np.maximum(predicted_count, 1), 0.0)
        recall = np.where(support > 0, hits / np.maximum(support, 1), 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    return tuple(ClassMetrics(str(name), float(p), float(r), float(f), int(s))
                 for name, p, r, f, s in zip(class_names, precision, recall, f1, support))

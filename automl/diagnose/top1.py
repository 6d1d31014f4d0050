"""Diagnose stage, classification outputs reduced to what the diagnosis reads: per example the predicted
class and its probability, and the split's accuracy and log loss.

The model's outputs are examples × classes (20,000 test examples of 10,000 classes: 800 MB of float32);
they are read in blocks of rows, so no array of their size is ever copied or converted, and everything
kept is O(examples).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows are read this many probabilities at a time (16 MB of float32, 32 MB once clipped as float64).
BLOCK_VALUES = 1 << 22
# Probabilities are clipped to [LOSS_EPSILON, 1] before the log loss, so a confident mistake costs a
# large finite amount rather than infinity.
LOSS_EPSILON = 1e-7


@dataclass(frozen=True)
class Top1:
    """One split's outputs, summarised.

    Attributes:
        predicted: The top-1 class of each example, shape (n,).
        confidence: Its probability, shape (n,).
        correct: Whether it is the true class, shape (n,).
        loss: Mean cross-entropy of the (clipped, renormalised) probabilities; NaN for an empty split.
    """

    predicted: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray
    loss: float

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self.correct) else float("nan")


def _block_rows(classes: int) -> int:
    return max(1, BLOCK_VALUES // max(classes, 1))


def top1(labels, probabilities) -> Top1:
    """The predicted class, confidence, correctness and log loss of each example.

    Args:
        labels: True class ids, shape (n,).
        probabilities: Predicted class probabilities, shape (n, classes); read, never copied whole.
    """
    labels = np.asarray(labels).reshape(-1).astype(np.int64, copy=False)
    probabilities = np.asarray(probabilities)
    n = len(labels)
    predicted, confidence = np.empty(n, np.int64), np.empty(n, np.float64)
    log_sum = 0.0
    rows = _block_rows(probabilities.shape[1] if probabilities.ndim == 2 else 1)
    for start in range(0, n, rows):
        block, truth = probabilities[start:start + rows], labels[start:start + rows]
        predicted[start:start + rows] = block.argmax(axis=1)
        confidence[start:start + rows] = block.max(axis=1)
        clipped = np.clip(block, LOSS_EPSILON, 1.0, dtype=np.float64)
        own = clipped[np.arange(len(truth)), truth]
        log_sum += float(np.sum(np.log(clipped.sum(axis=1)) - np.log(own)))
    return Top1(predicted, confidence, predicted == labels, log_sum / n if n else float("nan"))

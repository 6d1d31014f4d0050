"""Diagnose stage, calibration: does the model's confidence match how often it is right?

A reliability table (confidence bins: mean confidence, accuracy, count) and the expected calibration
error (ECE), the count-weighted mean gap between confidence and accuracy over those bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Ten equal-width bins is the usual reliability diagram (Guo et al. 2017, "On Calibration of Modern
# Neural Networks"); more bins leave most of them empty on a test split of a few hundred examples.
CALIBRATION_BINS = 10
# An ECE above this (5 points) means the stated confidence is off enough to mislead a threshold.
MISCALIBRATED_ECE = 0.05


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    confidence: float  # mean top-1 probability in the bin
    accuracy: float  # fraction of the bin's top-1 predictions that are right
    count: int


@dataclass(frozen=True)
class Calibration:
    """Reliability of the top-1 probability on the test split.

    Attributes:
        ece: Expected calibration error, in [0, 1].
        bins: The non-empty confidence bins, lowest first.
        samples: How many test examples the figures come from.
    """

    ece: float
    bins: tuple[CalibrationBin, ...]
    samples: int

    @property
    def well_calibrated(self) -> bool:
        return self.ece <= MISCALIBRATED_ECE


def calibrate(labels, probabilities, bins: int = CALIBRATION_BINS) -> Calibration:
    """Bins the top-1 probability of each example and compares it with how often it is correct.

    Args:
        labels: True class ids, shape (n,).
        probabilities: Predicted class probabilities, shape (n, classes).
        bins: Number of equal-width confidence bins over [0, 1].

    Returns:
        The reliability bins and the expected calibration error (0 for an empty split).
    """
    probabilities = np.asarray(probabilities)  # not converted: it may be examples × thousands of classes
    labels = np.asarray(labels).reshape(-1)
    if not len(labels):
        return Calibration(0.0, (), 0)
    return calibrate_top1(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels, bins)


def calibrate_top1(confidence, correct, bins: int = CALIBRATION_BINS) -> Calibration:
    """calibrate from each example's top-1 probability and whether that class is right (O(examples),
    whatever the number of classes; at most `bins` bins are kept).

    Args:
        confidence: The top-1 probability of each example, shape (n,).
        correct: Whether the top-1 class is the true class, shape (n,).
    """
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    correct = np.asarray(correct, dtype=np.float64).reshape(-1)
    if not len(confidence):
        return Calibration(0.0, (), 0)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # A confidence of exactly 1.0 belongs to the last bin, not one past it.
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        if not count:
            continue
        mean_confidence, accuracy = float(confidence[members].mean()), float(correct[members].mean())
        ece += count / len(confidence) * abs(mean_confidence - accuracy)
        table.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), mean_confidence, accuracy, count))
    return Calibration(float(ece), tuple(table), int(len(confidence)))

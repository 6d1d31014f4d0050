"""Planted cases: the verdict must name the failure that was built in."""

import numpy as np

from automl.diagnose import best_epoch_of, diagnose_predictions


def _one_hot(labels, n, confidence=0.9):
    out = np.full((len(labels), n), (1 - confidence) / (n - 1))
    out[np.arange(len(labels)), labels] = confidence
    return out


def _labels(n=200, classes=2, seed=0):
    return np.random.default_rng(seed).integers(0, classes, n)


def _run(train_right, val_right, classes=2):
    labels = {s: _labels(seed=i, classes=classes) for i, s in enumerate(("train", "val", "test"))}
    outputs = {}
    for split, fraction in (("train", train_right), ("val", val_right), ("test", val_right)):
        predicted = labels[split].copy()
        wrong = int(len(predicted) * (1 - fraction))
        predicted[:wrong] = (predicted[:wrong] + 1) % classes
        outputs[split] = _one_hot(predicted, classes)
    return diagnose_predictions("classification", [str(i) for i in range(classes)], labels, outputs, 0.0, 3)


def test_memorised_training_data_is_overfitting():
    result = _run(train_right=1.0, val_right=0.5)
    assert result.verdict == "overfitting" and result.gap > 0.4 and result.fixes


def test_a_model_no_better_than_the_baseline_is_underfitting():
    result = _run(train_right=0.55, val_right=0.55)
    assert result.verdict == "underfitting"


def test_a_healthy_model_is_ok():
    result = _run(train_right=0.97, val_right=0.95)
    assert result.verdict == "ok" and result.metrics["test"]["accuracy"] == 0.95
    assert len(result.confusion) == 2 and sum(map(sum, result.confusion)) == 200
    assert result.per_class[0].support + result.per_class[1].support == 200


def test_regression_verdicts_and_baseline():
    rng = np.random.default_rng(0)
    targets = {s: rng.normal(size=100) for s in ("train", "val", "test")}
    outputs = {"train": targets["train"], "val": targets["val"] * 0.2, "test": targets["test"] * 0.2}
    result = diagnose_predictions("regression", (), targets, outputs, 0.0, 1)
    assert result.verdict == "overfitting" and result.metrics["train"]["r2"] == 1.0
    assert result.baseline["rmse"] > result.metrics["test"]["rmse"]


def test_best_epoch_follows_the_objective_direction():
    assert best_epoch_of({"val_accuracy": [0.5, 0.9, 0.8]}, "val_accuracy") == 2
    assert best_epoch_of({"val_loss": [0.5, 0.3, 0.4]}, "val_loss") == 2

"""The verdict names the failure that was built in: tiny Keras models trained on generated data made to
overfit, underfit or fit (so the verdict is judged on what a model does), plus planted outputs for the
metrics, the regression rules and the best epoch."""

from __future__ import annotations

import keras
import numpy as np

from automl.diagnose import best_epoch_of, diagnose_classification, diagnose_regression

CLASSES = ("a", "b")


def _fit_and_diagnose(make_xy, hidden_units: int, epochs: int, learning_rate: float = 0.05) -> object:
    """Trains a Dense model (hidden_units=0: logistic regression) on a train split and diagnoses it."""
    keras.utils.set_random_seed(0)
    splits = {name: make_xy(np.random.default_rng(seed)) for name, seed in (("train", 1), ("val", 2), ("test", 3))}
    x_train, y_train = splits["train"]
    layers = [keras.Input((x_train.shape[1],))]
    if hidden_units:
        layers.append(keras.layers.Dense(hidden_units, activation="relu"))
    model = keras.Sequential([*layers, keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    # Full-batch steps as one long epoch: per-epoch overhead dominates on data this small.
    model.fit(np.tile(x_train, (epochs, 1)), np.tile(y_train, epochs), epochs=1, batch_size=len(x_train),
              shuffle=False, verbose=0)
    outputs = {name: model.predict(x, verbose=0) for name, (x, _) in splits.items()}
    labels = {name: y for name, (_, y) in splits.items()}
    return diagnose_classification(CLASSES, labels, outputs, epochs)


def random_labels(rng):
    return rng.normal(size=(64, 20)).astype("float32"), rng.integers(0, 2, 64)


def xor(rng):
    """Two classes in opposite quadrants: no straight line separates them."""
    x = rng.uniform(-1, 1, (200, 2)).astype("float32")
    return x, ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)


def separable(rng):
    y = rng.integers(0, 2, 200)
    return (rng.normal(size=(200, 2)) + 3 * y[:, None]).astype("float32"), y


def test_memorised_random_labels_are_overfitting():
    diagnosis = _fit_and_diagnose(random_labels, hidden_units=256, epochs=150)
    assert diagnosis.metrics["train"]["accuracy"] > 0.95
    assert diagnosis.verdict == "overfitting", diagnosis.verdict_reason
    assert diagnosis.fixes


def test_model_too_small_for_its_task_is_underfitting():
    diagnosis = _fit_and_diagnose(xor, hidden_units=0, epochs=100)
    assert diagnosis.verdict == "underfitting", diagnosis.verdict_reason
    assert "below" in diagnosis.verdict_reason


def test_healthy_model_is_ok():
    diagnosis = _fit_and_diagnose(separable, hidden_units=0, epochs=100)
    assert diagnosis.metrics["val"]["accuracy"] > 0.9
    assert diagnosis.verdict == "ok", diagnosis.verdict_reason
    assert diagnosis.calibration is not None and 0 <= diagnosis.calibration.ece <= 1




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
    return diagnose_classification([str(i) for i in range(classes)], labels, outputs, 3)


def test_confusion_and_per_class_metrics_count_every_test_example():
    result = _run(train_right=0.97, val_right=0.95)
    assert result.verdict == "ok" and result.metrics["test"]["accuracy"] == 0.95
    assert len(result.confusion) == 2 and sum(map(sum, result.confusion)) == 200
    assert result.per_class[0].support + result.per_class[1].support == 200


def test_regression_verdicts_and_baseline():
    rng = np.random.default_rng(0)
    targets = {s: rng.normal(size=100) for s in ("train", "val", "test")}
    outputs = {"train": targets["train"], "val": targets["val"] * 0.2, "test": targets["test"] * 0.2}
    result = diagnose_regression(targets, outputs, 0.0, 1)
    assert result.verdict == "overfitting" and result.metrics["train"]["r2"] == 1.0
    assert result.baseline["rmse"] > result.metrics["test"]["rmse"]


def test_best_epoch_follows_the_objective_direction():
    assert best_epoch_of({"val_accuracy": [0.5, 0.9, 0.8]}, "val_accuracy") == 2
    assert best_epoch_of({"val_loss": [0.5, 0.3, 0.4]}, "val_loss") == 2

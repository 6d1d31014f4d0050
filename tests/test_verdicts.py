"""Planted cases: each verdict and alert must come out right on data built to deserve it.

The over/underfitting cases train real (tiny) Keras models on generated data, so the verdict is judged on
what a model actually does, not on made-up numbers; each trains in a second or two.
"""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pandas as pd
import pytest

from automl.diagnose import diagnose_predictions
from automl.ingest import load_dataset
from automl.profile.profiler import profile_dataset
from automl.search.ranking import ACCURACY_TOLERANCE, choice_note, rank_trials, trial_overfits
from automl.search import TrialRecord
from helpers import make_image_folder

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
    return diagnose_predictions("classification", CLASSES, labels, outputs, 0.0, epochs)


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


def test_byte_identical_train_and_test_files_raise_a_leakage_alert(tmp_path, config_for):
    make_image_folder(tmp_path / "data" / "train", per_class=6)
    shutil.copytree(tmp_path / "data" / "train", tmp_path / "data" / "test")
    make_image_folder(tmp_path / "data" / "val", per_class=3, classes=("bright", "dark"))
    for i, path in enumerate(sorted((tmp_path / "data" / "val").rglob("*.png"))):
        path.rename(path.with_name(f"v{i}.png"))
    profile = profile_dataset(load_dataset(config_for(tmp_path / "data")))
    leaks = {g.name: g for g in profile.guardrails if g.name.startswith("Leakage")}
    assert leaks["Leakage into test"].status == "Alerted"
    assert "12 of 12 test examples are byte-identical" in leaks["Leakage into test"].message


def test_95_to_5_split_alerts_and_applies_class_weights(tmp_path, config_for, monkeypatch):
    rng = np.random.default_rng(0)
    label = np.array(["common"] * 190 + ["rare"] * 10)
    frame = pd.DataFrame({"x": rng.normal(size=200) + (label == "rare") * 3, "label": label})
    frame.to_csv(tmp_path / "table.csv", index=False)
    config = config_for(tmp_path / "table.csv")
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    balance = next(g for g in profile.guardrails if g.name == "Class balance")
    assert balance.status == "Done" and profile.imbalance_ratio >= 15
    rare = profile.class_names.index("rare")
    assert profile.class_weight[rare] > 5 * profile.class_weight[1 - rare]

    import keras_tuner as kt

    from automl.pipeline import choose_family
    from automl.search import search_models

    seen = {}

    class Applied(Exception):
        pass

    def capture(self, *args, **kwargs):
        seen.update(kwargs)
        raise Applied
    monkeypatch.setattr(kt.RandomSearch, "search", capture)
    with pytest.raises(Applied):
        search_models(choose_family(profile, config), dataset, profile, config)
    assert seen["class_weight"] == profile.class_weight


def _trial(trial_id, score, params, train_accuracy):
    history = {"accuracy": [train_accuracy], "val_accuracy": [score], "loss": [0.1], "val_loss": [0.3]}
    return TrialRecord(trial_id, {}, score, "COMPLETED", 1, params, 1.0, history)


def test_ranking_prefers_the_trial_that_does_not_overfit_within_the_tolerance():
    overfit = _trial("big", 0.900, 100_000, train_accuracy=1.0)
    healthy = _trial("healthy", 0.900 - ACCURACY_TOLERANCE / 2, 200_000, train_accuracy=0.91)
    worse = _trial("worse", 0.85, 10, train_accuracy=0.85)
    assert trial_overfits(overfit, "val_accuracy") and not trial_overfits(healthy, "val_accuracy")
    assert [t.trial_id for t in rank_trials([overfit, worse, healthy], "val_accuracy")] == ["healthy", "big", "worse"]
    note = choice_note([overfit, worse, healthy], "val_accuracy")
    assert "Trial healthy was chosen over trial big" in note and "overfits" in note


def test_ranking_prefers_the_smaller_model_among_ties_and_keeps_score_order_beyond():
    large = _trial("large", 0.95, 500_000, train_accuracy=0.96)
    small = _trial("small", 0.945, 5_000, train_accuracy=0.95)
    far = _trial("far", 0.90, 100, train_accuracy=0.9)
    assert [t.trial_id for t in rank_trials([large, far, small], "val_accuracy")] == ["small", "large", "far"]
    assert "5,000 parameters against 500,000" in choice_note([large, far, small], "val_accuracy")
    alone = _trial("alone", 0.99, 900_000, train_accuracy=0.99)
    assert rank_trials([alone, small], "val_accuracy")[0].trial_id == "alone"  # 4.5 points is no tie

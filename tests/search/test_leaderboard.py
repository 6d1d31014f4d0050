"""One leaderboard, one model: every candidate scored on the same validation outputs by one measure, the best
eligible row ships, averages across kinds compete, and the test split chooses nothing."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.search import search_models
from automl.search.leaderboard import Candidate, measure_for, rank
from automl.select import choose_family


def _model(name: str) -> keras.Model:
    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs), name=name)


def _outputs(labels: np.ndarray, right: np.ndarray, confidence: float = 0.8) -> np.ndarray:
    """Probabilities that put `confidence` on the true class where right, on the other class elsewhere."""
    p = np.where(right, confidence, 1 - confidence)
    out = np.zeros((len(labels), 2))
    out[np.arange(len(labels)), labels] = p
    out[np.arange(len(labels)), 1 - labels] = 1 - p
    return out


def test_the_best_row_on_validation_ships_whatever_its_kind():
    labels = np.tile([0, 1], 50)
    deep = Candidate("trial 00", "trial", _model("deep"), _outputs(labels, np.arange(100) % 3 != 0), 30.0, 5000)
    simple = Candidate("linear model", "simple", _model("lin"), _outputs(labels, np.arange(100) % 10 != 0), 0.5, 10)
    board = rank([deep, simple], labels, "classification", "accuracy")
    assert board.chosen == "linear model" and [r.name for r in board.rows][:2] == ["linear model", "trial 00"]
    assert board.reason.startswith("linear model: the highest validation accuracy, 90.00%")
    assert board.models[board.chosen] is simple.model and board.restriction == ""


def test_a_restriction_ships_the_best_allowed_row_and_says_what_was_better():
    labels = np.tile([0, 1], 50)
    deep = Candidate("trial 00", "trial", _model("deep"), _outputs(labels, np.arange(100) % 3 != 0), 30.0, 5000)
    simple = Candidate("linear model", "simple", _model("lin"), _outputs(labels, np.arange(100) % 10 != 0), 0.5, 10)
    board = rank([deep, simple], labels, "classification", "accuracy", ("trial", "ensemble"),
                 restricted_by="--family mlp")
    assert board.chosen == "trial 00"
    assert "linear model (simple) was better on validation accuracy (90.00% against 66.00%" in board.restriction
    assert "--family mlp" in board.restriction
    assert next(r for r in board.rows if r.name == "linear model").note.startswith("shown, not eligible")


def test_an_average_across_kinds_competes_and_is_one_model():
    """Two candidates wrong on different halves: their average is right where either is confident."""
    labels = np.tile([0, 1], 50)
    first, second = np.arange(100) < 50, np.arange(100) >= 50
    deep = Candidate("trial 00", "trial", _model("deep"),
                     np.where(first[:, None], _outputs(labels, first, 0.95), _outputs(labels, first, 0.6)), 1.0, 50)
    simple = Candidate("linear model", "simple", _model("lin"),
                       np.where(second[:, None], _outputs(labels, second, 0.95), _outputs(labels, second, 0.6)), 1.0, 8)
    board = rank([deep, simple], labels, "classification", "accuracy")
    assert board.chosen.startswith("average of ") and board.chosen_row.kind == "ensemble"
    assert board.chosen_row.val_score == 1.0 and set(board.chosen_row.members) == {"trial 00", "linear model"}
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    expected = (deep.model.predict(x, verbose=0) + simple.model.predict(x, verbose=0)) / 2
    np.testing.assert_allclose(board.models[board.chosen].predict(x, verbose=0), expected, atol=1e-6)


def test_measures_follow_the_task():
    assert measure_for("classification", imbalanced=False) == "accuracy"
    assert measure_for("classification", imbalanced=True) == "balanced_accuracy"
    assert measure_for("multilabel", imbalanced=False) == "auc"
    assert measure_for("regression", imbalanced=False) == "mse"
    labels = np.linspace(0, 1, 20)
    close = Candidate("linear model", "simple", _model("a"), (labels + 0.01)[:, None], 1.0)
    far = Candidate("trial 00", "trial", _model("b"), (labels + 0.5)[:, None], 1.0)
    assert rank([far, close], labels, "regression", "mse").chosen == "linear model"  # lower is better


def _stages(config):
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    return choose_family(profile, config), dataset, profile


def _permuted_test(dataset):
    """The same dataset with its test labels shuffled (features untouched)."""
    labels = np.random.default_rng(1).permutation(dataset.test.labels)
    features = dataset.test.data.map(lambda x, y: x)
    data = tf.data.Dataset.zip((features, tf.data.Dataset.from_tensor_slices(labels)))
    return dataclasses.replace(dataset, test=dataclasses.replace(dataset.test, data=data, labels=labels))


def test_test_labels_choose_nothing(table_csv, config_for, tmp_path):
    """Permuting the test labels leaves the leaderboard's validation scores and its choice unchanged."""
    config = config_for(table_csv, max_trials=2)
    plan, dataset, profile = _stages(config)
    boards = []
    for index, data in enumerate([dataset, _permuted_test(dataset)]):
        run_config = dataclasses.replace(config, run_dir=str(tmp_path / f"run{index}"))
        (tmp_path / f"run{index}").mkdir()
        keras.utils.set_random_seed(0)
        boards.append(search_models(plan, data, profile, run_config).leaderboard)
    assert boards[0].chosen == boards[1].chosen
    assert [(r.name, r.val_score) for r in boards[0].rows] == [(r.name, r.val_score) for r in boards[1].rows]
    kinds = {r.kind for r in boards[0].rows}
    assert {"trial", "simple"} <= kinds and all(r.test_score is None for r in boards[0].rows)


def test_a_table_run_ships_the_leaderboards_choice(tmp_path, config_for):
    """A table a linear model separates and a 1-epoch MLP does not fit: the simple model ships as model/, and
    the report and summary say so."""
    import json

    from automl.cli import main

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["label"] = np.where(frame["a"] + 0.3 * frame["b"] > 0, "yes", "no")
    frame.to_csv(tmp_path / "t.csv", index=False)
    code = main(["run", str(tmp_path / "t.csv"), "--max-trials", "1", "--epochs", "1", "--output",
                 str(tmp_path / "run"), "--quiet", "--time-budget", "none"])
    assert code == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    board = summary["leaderboard"]
    assert board["chosen"] == board["rows"][0]["name"] and board["rows"][0]["kind"] in ("simple", "ensemble")
    assert summary["metrics"]["test"]["accuracy"] == board["rows"][0]["test_score"]
    assert not (tmp_path / "run" / "simple_model").exists()
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Leaderboard: the model that ships" in html and "★ ships" in html


def test_a_deep_row_better_by_noise_only_does_not_displace_a_simple_one():
    """On 15 validation examples, right on 2 more of them is within two standard errors of a paired sign test:
    the simple model ships, and the sentence says why; 12 more on 100 examples is not noise."""
    labels = np.tile([0, 1], 50)
    small = labels[:15]
    deep = Candidate("trial 00", "trial", _model("deep"), _outputs(small, np.arange(15) >= 2), 30.0, 5000)
    simple = Candidate("MiniRocket", "simple", _model("rocket"), _outputs(small, np.arange(15) >= 4), 1.0, 100)
    board = rank([deep, simple], small, "classification", "accuracy", max_members=1)
    assert board.rows[0].name == "trial 00" and board.chosen == "MiniRocket"
    assert "tied with the top row (trial 00, 86.67%)" in board.reason and "sign test" in board.reason
    deep = Candidate("trial 00", "trial", _model("deep2"), _outputs(labels, np.arange(100) >= 2), 30.0, 5000)
    simple = Candidate("MiniRocket", "simple", _model("rocket2"), _outputs(labels, np.arange(100) >= 14), 1.0, 100)
    assert rank([deep, simple], labels, "classification", "accuracy", max_members=1).chosen == "trial 00"


def test_between_two_simple_models_tied_by_noise_the_better_on_validation_ships():
    """The smaller-model preference is for deep rows: two simple models' sizes count vocabularies."""
    labels = np.tile([0, 1], 50)
    bigger = Candidate("NBSVM", "simple", _model("nbsvm"), _outputs(labels, np.arange(100) >= 3), 2.0, 90_000)
    smaller = Candidate("TF-IDF", "simple", _model("tfidf"), _outputs(labels, np.arange(100) >= 5), 1.0, 10_000)
    deep = Candidate("trial 00", "trial", _model("deep3"), _outputs(labels, np.arange(100) >= 4), 30.0, 5_000)
    board = rank([smaller, deep, bigger], labels, "classification", "accuracy", max_members=1)
    assert [row.name for row in board.rows] == ["NBSVM", "trial 00", "TF-IDF"]
    assert board.chosen == "NBSVM" and "highest validation accuracy" in board.reason

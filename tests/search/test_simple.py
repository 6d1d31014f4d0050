"""The simple models fitted first: each in its exact Keras form (raw inputs → outputs), on the leaderboard
beside the trials; and the sentence that says what deep learning gained over the best of them on test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.diagnose.leaderboard_test import deep_against_simple
from automl.ingest import load_dataset
from automl.modalities.batching import batched
from automl.profile import profile_dataset
from automl.search.leaderboard import Leaderboard, Row
from automl.search.simple import simple_fitters
from helpers import make_text_folder, write_ts


def _fits(config):
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    fits = [fit(dataset.train) for fit in simple_fitters(dataset, profile).values()]
    return dataset, profile, [f for f in fits if f is not None]


def _accuracy(fit, dataset, profile) -> float:
    outputs = fit.model.predict(batched(dataset.test, profile, 64, None), verbose=0)
    return float(np.mean(outputs.argmax(axis=1) == dataset.test.labels))


def test_a_classification_table_gets_a_linear_model_and_trees_in_keras_form(table_csv, config_for):
    dataset, profile, fits = _fits(config_for(table_csv))
    assert [f.name for f in fits] == ["linear model", "gradient-boosted trees"]
    assert all(f.seconds >= 0 and f.reference is not None for f in fits)
    assert max(_accuracy(f, dataset, profile) for f in fits) >= 0.75  # x1 separates the two classes
    frame = fits[0].inputs  # the Keras form gives the scikit-learn model's probabilities on training rows
    keras_out = fits[0].model.predict(batched(dataset.train, profile, 64, None), verbose=0)
    np.testing.assert_allclose(keras_out, fits[0].reference.predict_proba(frame), atol=1e-5)


def test_a_regression_table_gets_them_too(tmp_path, config_for):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "city": rng.choice(["a", "b"], 120)})
    frame["y"] = 3 * frame["x"] + (frame["city"] == "a") + rng.normal(0, 0.1, 120)
    frame.to_csv(tmp_path / "r.csv", index=False)
    dataset, profile, fits = _fits(config_for(tmp_path / "r.csv"))
    predicted = fits[0].model.predict(batched(dataset.test, profile, 64, None), verbose=0).ravel()
    assert np.corrcoef(predicted, dataset.test.labels)[0, 1] > 0.95


def test_labelled_series_get_minirocket_with_a_closed_form_head(tmp_path, config_for):
    dataset, profile, fits = _fits(config_for(write_ts(tmp_path / "gen.ts", per_class=15, lengths=(24,))))
    assert [f.name for f in fits] == ["MiniRocket + logistic regression"]
    assert _accuracy(fits[0], dataset, profile) >= 0.5


def test_text_gets_tf_idf_and_naive_bayes_weighted_n_grams(tmp_path, config_for):
    dataset, profile, fits = _fits(config_for(make_text_folder(tmp_path / "texts", per_class=30)))
    assert [f.name for f in fits] == ["TF-IDF (words, word pairs, characters 2-5) + logistic regression",
                                      "naive Bayes-weighted word 1-3-grams + logistic regression"]
    assert max(_accuracy(f, dataset, profile) for f in fits) >= 0.8  # each text holds three of its class's words


def test_images_have_no_simple_model_here(image_folder, config_for):
    dataset = load_dataset(config_for(image_folder))
    assert simple_fitters(dataset, profile_dataset(dataset)) == {}


@pytest.mark.parametrize("deep, words", [(0.95, "Deep learning gains +5.0 points"), (0.902, "as good here"),
                                         (0.80, "A simple model is better here by 10.0 points")])
def test_the_sentence_says_what_deep_learning_gained_on_test(deep, words):
    rows = (Row("linear model", "simple", 0.91, 0.3, 0.2, 10, test_score=0.90),
            Row("trial 00", "trial", 0.89, 0.4, 9.0, 100, test_score=deep),
            Row("gradient-boosted trees", "simple", 0.85, 0.5, 0.5, 0, test_score=0.93))
    sentence = deep_against_simple(Leaderboard("accuracy", "validation", rows, "linear model", ""))
    assert words in sentence and "linear model" in sentence  # the best simple model on validation, not on test

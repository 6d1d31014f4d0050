"""The simple models beside the deep search: fitted in seconds on train, scored on validation and test,
and one sentence saying whether deep learning gained anything over the best of them (the report and
console side: tests/search/test_crossval.py's run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.search.simple import SimpleModel, SimpleModels, _naive_bayes_logistic, fit_simple_models
from helpers import make_text_folder, write_ts


def _fit(config):
    dataset = load_dataset(config)
    return fit_simple_models(dataset, profile_dataset(dataset))


def test_a_classification_table_gets_trees_and_a_linear_model(table_csv, config_for):
    simple = _fit(config_for(table_csv))
    assert simple.metric == "accuracy"
    assert [m.name for m in simple.models] == ["gradient-boosted trees", "linear model"]
    assert all(0 <= m.val_score <= 1 and 0 <= m.test_score <= 1 and m.seconds >= 0 for m in simple.models)
    assert simple.best.test_score >= 0.75  # x1 separates the two classes


def test_a_regression_table_is_scored_by_r2(tmp_path, config_for):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "city": rng.choice(["a", "b"], 120)})
    frame["y"] = 3 * frame["x"] + (frame["city"] == "a") + rng.normal(0, 0.1, 120)
    frame.to_csv(tmp_path / "r.csv", index=False)
    simple = _fit(config_for(tmp_path / "r.csv"))
    assert simple.metric == "r2" and simple.best.test_score > 0.9


def test_labelled_series_get_minirocket(tmp_path, config_for):
    path = write_ts(tmp_path / "gen.ts", per_class=15, lengths=(24,))
    simple = _fit(config_for(path))
    assert [m.name for m in simple.models] == ["MiniRocket + ridge"] and simple.best.test_score >= 0.5


def test_text_gets_tf_idf_and_naive_bayes_weighted_n_grams(tmp_path, config_for):
    simple = _fit(config_for(make_text_folder(tmp_path / "texts", per_class=30)))
    assert [m.name for m in simple.models] == \
        ["TF-IDF (words, word pairs, characters 2-5) + logistic regression",
         "naive Bayes weighted word 1-3-grams + logistic regression"]
    assert simple.best.test_score >= 0.8  # each text holds three of its class's words
    assert simple.best.fitted is not None and len(simple.best.fitted.test_inputs) == len(simple.best.fitted.model.predict(
        simple.best.fitted.test_inputs))


def test_naive_bayes_weights_are_folded_into_a_plain_pipeline():
    """The NBSVM model is a CountVectorizer and a LogisticRegression, nothing of ours (so it exports), and it
    decides as logistic regression on naive Bayes scaled counts does."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    words = {0: ["dull", "boring", "bad", "plot"], 1: ["great", "fun", "good", "plot"]}
    labels = rng.integers(0, 2, 80)
    texts = [" ".join(rng.choice(words[y], 5)) + (" !" if y else "") for y in labels]
    model = _naive_bayes_logistic(texts, labels)
    assert [type(step) for _, step in model.steps] == [CountVectorizer, LogisticRegression]
    counts = model.steps[0][1].transform(texts)
    positive, negative = 1 + counts[labels == 1].sum(0).A1, 1 + counts[labels == 0].sum(0).A1
    ratio = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    scaled = LogisticRegression(C=0.1, solver="liblinear").fit(counts.multiply(ratio).tocsr(), labels)
    np.testing.assert_allclose(model.decision_function(texts), scaled.decision_function(counts.multiply(ratio).tocsr()),
                               rtol=1e-4, atol=1e-5)
    assert (model.predict(texts) == labels).mean() > 0.9


def test_images_have_no_simple_model_here(image_folder, config_for):
    assert _fit(config_for(image_folder)) is None


@pytest.mark.parametrize("deep, words", [(0.95, "Deep learning gains +5.0 points"), (0.902, "as good here"),
                                         (0.80, "A simple model is better here by 10.0 points")])
def test_the_verdict_says_what_deep_learning_gained(deep, words):
    simple = SimpleModels("accuracy", (SimpleModel("linear model", 0.91, 0.90, 0.2),
                                       SimpleModel("gradient-boosted trees", 0.85, 0.93, 0.5)))
    assert simple.best.name == "linear model"  # chosen on validation, not on test
    assert words in simple.verdict(deep) and "linear model" in simple.verdict(deep)

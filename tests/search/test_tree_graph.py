"""The gradient-boosted trees in Keras form give what the scikit-learn pipeline they mirror gives (to 1e-5), on raw
columns with missing numbers, values on the thresholds and unseen categories (which go where a category missing in
training went); and they reload as .keras and as a SavedModel in a fresh process."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from automl.search.simple import table_pipeline
from automl.search.tree_graph import keras_tree_model
from helpers import assert_reloads_alike


def _columns(keys=("x1", "x2", "city")):
    return [SimpleNamespace(key=key, kind="string" if key == "city" else "numeric") for key in keys]


def _frame(n: int, seed: int, cities=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n).astype("float32").astype("float64"),
                          "x2": (rng.normal(size=n) * 100).astype("float32").astype("float64"),
                          "city": rng.choice(list(cities), n)})
    frame.loc[::7, "x1"] = np.nan
    return frame


def _fit(train: pd.DataFrame, target, classify: bool, **settings):
    pipeline = table_pipeline("gradient-boosted trees", _columns(train.columns), classify, balanced=False)
    pipeline.steps[-1][1].set_params(**settings)
    return pipeline.fit(train, target)


def _keras_inputs(frame: pd.DataFrame) -> dict:
    return {c: tf.constant(frame[c].to_numpy("float32" if c != "city" else object).reshape(-1, 1))
            for c in frame.columns}


def _labels(frame: pd.DataFrame, classes: int) -> np.ndarray:
    score = frame["x1"].fillna(1.5) + frame["x2"] / 100 + (frame["city"] == "b")
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


@pytest.mark.parametrize("classes, early_stopping", [(2, False), (2, True), (3, False), (3, True)])
def test_classifier_matches_scikit_learn(classes, early_stopping):
    train, test = _frame(400, 0), _frame(150, 1, cities=("a", "b", "c", "z"))  # "z": never seen in training
    labels = _labels(train, classes)
    if classes == 3:  # a missing category in training: OrdinalEncoder's -1, then also the code of unseen ones
        train.loc[:20, "city"] = None
    pipeline = _fit(train, labels, True, early_stopping=early_stopping, max_iter=40)
    outputs = keras_tree_model(pipeline, _columns(), "classification", classes).predict(_keras_inputs(test), verbose=0)
    assert outputs.shape == (150, classes) and outputs.dtype == np.float32
    np.testing.assert_allclose(outputs, pipeline.predict_proba(test), atol=1e-5)


def test_a_class_absent_from_training_gets_probability_zero():
    train = _frame(200, 0)
    labels = _labels(train, 2) * 2  # classes 0 and 2 of 3
    pipeline = _fit(train, labels, True, max_iter=20)
    outputs = keras_tree_model(pipeline, _columns(), "classification", 3).predict(_keras_inputs(train), verbose=0)
    assert np.all(outputs[:, 1] == 0)
    np.testing.assert_allclose(outputs[:, [0, 2]], pipeline.predict_proba(train), atol=1e-5)


def test_values_on_the_thresholds_go_where_scikit_learn_sends_them():
    """Thresholds are midpoints of training values (up to max_bins of them), float64: rounded to float32, about a
    quarter of them lie above."""
    train = _frame(200, 0)[["x1"]]
    pipeline = _fit(train, np.sin(3 * train["x1"].fillna(0)), False, max_iter=30)
    thresholds = np.concatenate([tree.nodes["num_threshold"][tree.nodes["is_leaf"] == 0]
                                 for iteration in pipeline.steps[-1][1]._predictors for tree in iteration])
    near = thresholds[np.isfinite(thresholds)].astype("float32")
    values = np.concatenate([near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf)),
                             [np.nan, np.inf, -np.inf]])
    test = pd.DataFrame({"x1": values.astype("float64")})
    outputs = keras_tree_model(pipeline, _columns(["x1"]), "regression", 0).predict(_keras_inputs(test), verbose=0)
    assert outputs.shape == (len(test), 1) and outputs.dtype == np.float32
    np.testing.assert_allclose(outputs.ravel(), pipeline.predict(test), atol=1e-5)


def test_the_graph_grows_with_depth_not_with_trees():
    """A fixed number of operations a level (and one slice where the shallower trees stop), whatever the trees."""
    train = _frame(200, 0)
    sizes = [len(keras_tree_model(_fit(train, _labels(train, 3), True, max_iter=trees, max_depth=3), _columns(),
                                  "classification", 3).operations) for trees in (20, 40)]
    assert sizes[0] == sizes[1] < 100


def test_regression_reloads_as_keras_and_as_a_saved_model_in_a_fresh_process(tmp_path):
    train, test = _frame(300, 0), _frame(100, 1, cities=("a", "b", "z"))
    target = 3 * train["x1"].fillna(0) - 0.01 * train["x2"] + (train["city"] == "a")
    pipeline = _fit(train, target, False, max_iter=30)
    model = keras_tree_model(pipeline, _columns(), "regression", 0)
    inputs = {"x1": test[["x1"]].to_numpy("float32"), "x2": test[["x2"]].to_numpy("float32"),
              "city": test[["city"]].to_numpy(str)}
    assert_reloads_alike(model, _keras_inputs(test), inputs, pipeline.predict(test), tmp_path, atol=1e-5)

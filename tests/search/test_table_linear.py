"""The linear table model in Keras form gives what the scikit-learn pipeline it mirrors gives (to 1e-5 in
probability), on raw columns with missing numbers, unseen categories and a column empty in training."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from automl.search.simple import table_pipeline
from automl.search.table_linear import keras_linear_model
from helpers import assert_reloads_alike


def _columns():
    return [SimpleNamespace(key="x1", kind="numeric"), SimpleNamespace(key="x2", kind="numeric"),
            SimpleNamespace(key="empty", kind="numeric"), SimpleNamespace(key="city", kind="string")]


def _frame(n: int, seed: int, cities=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n).astype("float32").astype("float64"),
                          "x2": (rng.normal(size=n) * 100).astype("float32").astype("float64"),
                          "empty": np.nan, "city": rng.choice(list(cities), n)})
    frame.loc[::7, "x1"] = np.nan
    return frame


def _keras_inputs(frame: pd.DataFrame) -> dict:
    return {c: tf.constant(frame[c].to_numpy("float32" if c != "city" else object).reshape(-1, 1))
            for c in frame.columns}


@pytest.mark.parametrize("classes", [2, 3])
def test_logistic_regression_matches_scikit_learn(classes):
    train, test = _frame(200, 0), _frame(80, 1, cities=("a", "b", "z"))  # "z": a category training never saw
    labels = ((train["x1"].fillna(0) + (train["city"] == "b")) * classes / 3 + 1).clip(0, classes - 1).astype(int)
    pipeline = table_pipeline("linear model", _columns(), classify=True, balanced=False).fit(train, labels)
    model = keras_linear_model(pipeline, _columns(), "classification", classes)
    np.testing.assert_allclose(model.predict(_keras_inputs(test), verbose=0), pipeline.predict_proba(test), atol=1e-5)


def test_a_class_absent_from_training_gets_probability_zero():
    train = _frame(100, 0)
    labels = (train["x2"] > 0).astype(int) * 2  # classes 0 and 2 of 3
    pipeline = table_pipeline("linear model", _columns(), classify=True, balanced=True).fit(train, labels)
    outputs = keras_linear_model(pipeline, _columns(), "classification", 3).predict(_keras_inputs(train), verbose=0)
    assert np.all(outputs[:, 1] == 0)
    np.testing.assert_allclose(outputs[:, [0, 2]], pipeline.predict_proba(train), atol=1e-5)


def test_ridge_regression_matches_and_reloads_in_a_fresh_process(tmp_path):
    train, test = _frame(150, 0), _frame(50, 1)
    target = 3 * train["x1"].fillna(0) - 0.01 * train["x2"] + (train["city"] == "a")
    pipeline = table_pipeline("linear model", _columns(), classify=False, balanced=False).fit(train, target)
    model = keras_linear_model(pipeline, _columns(), "regression", 0)
    inputs = {c: test[[c]].to_numpy("float32" if c != "city" else str) for c in test.columns}
    assert_reloads_alike(model, _keras_inputs(test), inputs, pipeline.predict(test), tmp_path, atol=1e-4)
